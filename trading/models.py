"""Trading data: bars, quarantined ticks, the latched trading state and its audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Bar(models.Model):
    """A closed 1-minute bar. `ts` is the bar's start in UTC; one row per (symbol, ts)."""

    symbol = models.CharField(max_length=16)
    ts = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()
    buy_volume = models.FloatField(default=0)
    sell_volume = models.FloatField(default=0)
    bid = models.FloatField(null=True, blank=True)
    ask = models.FloatField(null=True, blank=True)
    tick_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["symbol", "ts"], name="bar_unique_symbol_ts")]
        indexes = [models.Index(fields=["symbol", "-ts"])]
        ordering = ["symbol", "ts"]

    def __str__(self) -> str:
        return f"{self.symbol} {self.ts:%Y-%m-%d %H:%M} C={self.close}"

    def as_message(self) -> dict:
        return {
            "symbol": self.symbol,
            "ts": self.ts.isoformat(),
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


class QuarantinedTick(models.Model):
    """A tick the gateway refused; kept with its reason so nothing is silently lost."""

    received_at = models.DateTimeField()
    source = models.CharField(max_length=16)
    symbol = models.CharField(max_length=16)
    ts = models.DateTimeField(null=True, blank=True)
    price = models.FloatField(null=True, blank=True)
    size = models.FloatField(null=True, blank=True)
    bid = models.FloatField(null=True, blank=True)
    ask = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=32, db_index=True)

    class Meta:
        ordering = ["-received_at"]


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
