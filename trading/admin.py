from django.contrib import admin

from trading.models import AuditLog, Bar, QuarantinedTick, TradingState


@admin.register(Bar)
class BarAdmin(admin.ModelAdmin):
    list_display = ("symbol", "ts", "open", "high", "low", "close", "volume", "source")
    list_filter = ("symbol", "source")
    date_hierarchy = "ts"


@admin.register(QuarantinedTick)
class QuarantinedTickAdmin(admin.ModelAdmin):
    list_display = ("received_at", "source", "ts", "price", "size", "bid", "ask", "reason")
    list_filter = ("reason", "source")


@admin.register(TradingState)
class TradingStateAdmin(admin.ModelAdmin):
    """Read-only here: state changes go through the kill switch so they are audited and role-checked."""

    list_display = ("state", "reason", "changed_by", "changed_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "reason")
    list_filter = ("action",)
    readonly_fields = ("at", "user", "actor", "action", "reason", "before", "after")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
