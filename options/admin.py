from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from options.models import BiasSettings, OptionsSnapshot


@admin.register(OptionsSnapshot)
class OptionsSnapshotAdmin(admin.ModelAdmin):
    list_display = ("asof", "underlying", "source", "valid", "spot", "total_gex_bn", "gamma_flip", "call_wall",
                    "put_wall", "dealer_bias_score")
    list_filter = ("underlying", "source", "valid")
    date_hierarchy = "asof"

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BiasSettings)
class BiasSettingsAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request) -> bool:
        return not BiasSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
