"""Control: the latched trading state, its audit trail, configuration and news blackouts."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords


class TradingState(models.Model):
    """The one latched trading state. Only a risk admin moves it back to ACTIVE."""

    class State(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        REDUCING = "REDUCING", "Reduce only"
        HALTED = "HALTED", "Halted"

    SINGLETON_ID = 1

    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    reason = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(auto_now=True)
    changed_by = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return self.state


class AuditLog(models.Model):
    """Who did what, when, why, with the value before and after. Never updated, only added."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"


class NewsEvent(models.Model):
    """A news blackout window (e.g. FOMC, CPI): no new entries from `start` to `end`."""

    title = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["start"]

    def __str__(self) -> str:
        return f"{self.title} ({self.start:%Y-%m-%d %H:%M} UTC)"

    def clean(self) -> None:
        if self.end <= self.start:
            raise ValidationError({"end": "The blackout must end after it starts."})


class SingletonConfig(models.Model):
    """One editable row; `load()` creates it with the defaults on first use."""

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        row, _ = cls.objects.get_or_create(pk=1)
        return row

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        self.full_clean()
        super().save(*args, **kwargs)


class StrategyConfig(SingletonConfig):
    """Confluence weights and signal thresholds (DESIGN §4). Read on every bar: edits apply at once."""

    w_vwap_trend = models.FloatField("vwap_trend weight", default=0.20)
    w_volume_imbalance = models.FloatField("volume_imbalance weight", default=0.15)
    w_price_action = models.FloatField("price_action weight", default=0.15)
    w_momentum_flow = models.FloatField("momentum_flow weight", default=0.15)
    w_support_resistance = models.FloatField("support_resistance weight", default=0.10)
    w_market_structure = models.FloatField("market_structure weight", default=0.10)
    w_session_analysis = models.FloatField("session_analysis weight", default=0.10)
    w_dealers_bias = models.FloatField("dealers_bias weight", default=0.05)
    strong_buy = models.FloatField(default=0.75)
    buy = models.FloatField(default=0.60)
    sell = models.FloatField(default=0.40)
    strong_sell = models.FloatField(default=0.25)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "strategy configuration"

    def __str__(self) -> str:
        return "Strategy configuration"

    def weights(self) -> dict[str, float]:
        return {f.name[2:]: getattr(self, f.name) for f in self._meta.fields if f.name.startswith("w_")}

    def thresholds(self) -> dict[str, float]:
        return {"strong_buy": self.strong_buy, "buy": self.buy, "sell": self.sell, "strong_sell": self.strong_sell}

    def clean(self) -> None:
        weights = self.weights()
        if any(w < 0 for w in weights.values()):
            raise ValidationError("Weights must not be negative.")
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValidationError(f"Confluence weights must sum to 1 (they sum to {total:.4f}).")
        if not 0 <= self.strong_sell < self.sell < self.buy < self.strong_buy <= 1:
            raise ValidationError("Thresholds must be ordered: 0 <= strong_sell < sell < buy < strong_buy <= 1.")


class RiskSettings(SingletonConfig):
    """Hard risk limits (DESIGN §4). Edited by risk admins; applied from the next bar."""

    account_equity_usd = models.FloatField(default=50_000)
    daily_loss_limit_usd = models.FloatField(default=500)
    daily_profit_target_usd = models.FloatField(default=1000)
    max_position = models.PositiveIntegerField(default=2)
    max_trades_per_day = models.PositiveIntegerField(default=15)
    max_drawdown_pct = models.FloatField(default=12.0)
    risk_per_trade_pct = models.FloatField(default=0.5)
    stop_atr_multiple = models.FloatField(default=2.0)
    target_r_multiple = models.FloatField(default=2.0)
    max_consecutive_losses = models.PositiveIntegerField(default=3)
    cooldown_minutes = models.PositiveIntegerField(default=30)
    max_order_qty = models.PositiveIntegerField(default=2)
    price_collar_ticks = models.PositiveIntegerField(default=20)
    max_orders_per_minute = models.PositiveIntegerField(default=6)
    stale_data_seconds = models.PositiveIntegerField(default=30)
    flat_before_close_minutes = models.PositiveIntegerField(default=5)
    commission_per_contract_usd = models.FloatField(default=2.50)
    slippage_ticks = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "risk settings"
        verbose_name_plural = "risk settings"

    def __str__(self) -> str:
        return "Risk settings"

    def clean(self) -> None:
        positive = ["account_equity_usd", "daily_loss_limit_usd", "daily_profit_target_usd", "max_drawdown_pct",
                    "risk_per_trade_pct", "stop_atr_multiple", "target_r_multiple"]
        errors = {name: "Must be positive." for name in positive if getattr(self, name) <= 0}
        for name in ("max_position", "max_trades_per_day", "max_order_qty", "max_orders_per_minute"):
            if getattr(self, name) < 1:
                errors[name] = "Must be at least 1."
        if self.max_drawdown_pct >= 100:
            errors["max_drawdown_pct"] = "Must be below 100 %."
        if self.risk_per_trade_pct > 5:
            errors["risk_per_trade_pct"] = "More than 5 % of equity per trade is refused."
        if errors:
            raise ValidationError(errors)
