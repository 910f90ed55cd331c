"""Market data: closed bars and the ticks the gateway refused."""

from __future__ import annotations

from django.db import models


class Bar(models.Model):
    """A closed bar (1 minute live; a replayed file keeps its own length). `ts` is the bar's start in UTC;
    one row per (symbol, ts). Buy/sell volume is None when the feed did not say who was the aggressor."""

    symbol = models.CharField(max_length=16)
    ts = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()
    buy_volume = models.FloatField(null=True, blank=True)
    sell_volume = models.FloatField(null=True, blank=True)
    bid = models.FloatField(null=True, blank=True)
    ask = models.FloatField(null=True, blank=True)
    tick_count = models.PositiveIntegerField(default=0)
    interval_s = models.PositiveIntegerField(default=60)
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
