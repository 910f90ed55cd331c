from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from trading import roles
from trading.models import AuditLog, Bar, NewsEvent, QuarantinedTick, RiskSettings, Signal, StrategyConfig, TradingState


class SingletonAdmin(SimpleHistoryAdmin):
    """One row, never deleted; every saved change is kept in its history (who, when, what)."""

    def has_add_permission(self, request) -> bool:
        return not self.model.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StrategyConfig)
class StrategyConfigAdmin(SingletonAdmin):
    fieldsets = [
        ("Confluence weights (must sum to 1)", {"fields": [f"w_{n}" for n in (
            "vwap_trend", "volume_imbalance", "price_action", "momentum_flow", "support_resistance",
            "market_structure", "session_analysis", "dealers_bias")]}),
        ("Signal thresholds", {"fields": ["strong_buy", "buy", "sell", "strong_sell"]}),
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        return roles.has_role(request.user, roles.OPERATOR)


@admin.register(RiskSettings)
class RiskSettingsAdmin(SingletonAdmin):
    """Only risk admins change limits (DESIGN §7)."""

    def has_change_permission(self, request, obj=None) -> bool:
        return roles.has_role(request.user, roles.RISK_ADMIN)

    def has_view_permission(self, request, obj=None) -> bool:
        return roles.has_role(request.user, roles.VIEWER)


@admin.register(NewsEvent)
class NewsEventAdmin(SimpleHistoryAdmin):
    list_display = ("title", "start", "end")
    date_hierarchy = "start"


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ("ts", "symbol", "label", "confluence", "regime", "strategy", "ml_confidence", "risk_approved")
    list_filter = ("label", "regime", "strategy", "risk_approved")
    date_hierarchy = "ts"

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
