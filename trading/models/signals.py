"""One decision per bar: features, confluence, regime, strategy, ML filter and risk verdict."""

from __future__ import annotations

from django.db import models

from trading.models.market import Bar


class Signal(models.Model):
    """What the engine concluded on a bar. Unique per bar, so a repeated task stores nothing twice."""

    bar = models.OneToOneField(Bar, on_delete=models.PROTECT, related_name="signal")
    symbol = models.CharField(max_length=16)
    ts = models.DateTimeField(db_index=True)
    features = models.JSONField(default=dict)
    confluence = models.FloatField()
    label = models.CharField(max_length=12)
    direction = models.SmallIntegerField(default=0)
    regime = models.CharField(max_length=16, blank=True)
    strategy = models.CharField(max_length=32, blank=True)
    reasons = models.JSONField(default=list)
    ml_confidence = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=40, blank=True)
    ml_passed = models.BooleanField(null=True)  # None: not a candidate, or no model deployed (passes)
    risk_approved = models.BooleanField(null=True)
    risk_reasons = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ts"]

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%d %H:%M} {self.label} {self.confluence:.3f}"

    def as_message(self) -> dict:
        return {"id": self.pk, "ts": self.ts.isoformat(), "symbol": self.symbol, "label": self.label,
                "direction": self.direction, "confluence": round(self.confluence, 4), "regime": self.regime,
                "strategy": self.strategy, "reasons": self.reasons, "features": self.features,
                "ml_confidence": self.ml_confidence, "model_version": self.model_version, "ml_passed": self.ml_passed,
                "risk_approved": self.risk_approved, "risk_reasons": self.risk_reasons}
