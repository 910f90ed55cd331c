"""Control: the latched trading state, its audit trail, configuration and news blackouts."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from trading.engine.confluence import DEFAULT_WEIGHTS, ConfluenceConfig
from trading.engine.fills import FillConfig
from trading.engine.limits import RiskConfig
from trading.engine.orders import BracketPolicy
from trading.engine.settings import DEFAULT_START_EQUITY

# The stored settings' defaults are the engine's: one set of defaults for live, backtest and replay.
_C, _R, _B, _F = ConfluenceConfig(), RiskConfig(), BracketPolicy(), FillConfig()


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

    @classmethod
    def current(cls):
        """The stored row, or an unsaved one with the defaults: a read that never writes."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        self.full_clean()
        super().save(*args, **kwargs)


class StrategyConfig(SingletonConfig):
    """Confluence weights and signal thresholds (DESIGN §4). Read on every bar: edits apply at once."""

    w_vwap_trend = models.FloatField("vwap_trend weight", default=DEFAULT_WEIGHTS["vwap_trend"])
    w_volume_imbalance = models.FloatField("volume_imbalance weight", default=DEFAULT_WEIGHTS["volume_imbalance"])
    w_price_action = models.FloatField("price_action weight", default=DEFAULT_WEIGHTS["price_action"])
    w_momentum_flow = models.FloatField("momentum_flow weight", default=DEFAULT_WEIGHTS["momentum_flow"])
    w_support_resistance = models.FloatField("support_resistance weight",
                                           default=DEFAULT_WEIGHTS["support_resistance"])
    w_market_structure = models.FloatField("market_structure weight", default=DEFAULT_WEIGHTS["market_structure"])
    w_session_analysis = models.FloatField("session_analysis weight", default=DEFAULT_WEIGHTS["session_analysis"])
    w_dealers_bias = models.FloatField("dealers_bias weight", default=DEFAULT_WEIGHTS["dealers_bias"])
    strong_buy = models.FloatField(default=_C.strong_buy)
    buy = models.FloatField(default=_C.buy)
    sell = models.FloatField(default=_C.sell)
    strong_sell = models.FloatField(default=_C.strong_sell)
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

    account_equity_usd = models.FloatField(default=DEFAULT_START_EQUITY)
    daily_loss_limit_usd = models.FloatField(default=_R.daily_loss_limit)
    daily_profit_target_usd = models.FloatField(default=_R.daily_profit_target)
    max_position = models.PositiveIntegerField(default=_R.max_position)
    max_trades_per_day = models.PositiveIntegerField(default=_R.max_trades_per_day)
    max_drawdown_pct = models.FloatField(default=_R.max_drawdown_pct)
    risk_per_trade_pct = models.FloatField(default=_R.risk_per_trade * 100)
    stop_atr_multiple = models.FloatField(default=_B.stop_atr_mult)
    target_r_multiple = models.FloatField(default=_B.target_r)
    max_consecutive_losses = models.PositiveIntegerField(default=_R.max_consecutive_losses)
    cooldown_minutes = models.PositiveIntegerField(default=int(_R.cooldown_minutes))
    max_order_qty = models.PositiveIntegerField(default=_R.max_order_qty)
    price_collar_ticks = models.PositiveIntegerField(default=_R.price_collar_ticks)
    max_orders_per_minute = models.PositiveIntegerField(default=_R.max_orders_per_minute)
    stale_data_seconds = models.PositiveIntegerField(default=int(_R.stale_data_seconds))
    flat_before_close_minutes = models.PositiveIntegerField(default=int(_R.flat_before_close_minutes))
    commission_per_contract_usd = models.FloatField(default=_F.commission_per_side)
    slippage_ticks = models.PositiveIntegerField(default=int(_F.slippage_ticks))
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
