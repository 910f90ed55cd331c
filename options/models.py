"""Options snapshots: the dealer's-bias metrics of one chain at one time."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from trading.models.control import SingletonConfig


class OptionsSnapshot(models.Model):
    """One analysed chain. An invalid chain is kept (with its errors) and scores a neutral 0.5."""

    underlying = models.CharField(max_length=8, db_index=True)
    asof = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=16)  # cboe, synthetic, ibkr
    simulated = models.BooleanField(default=False)
    valid = models.BooleanField(default=True)
    errors = models.JSONField(default=list, blank=True)
    spot = models.FloatField(null=True)
    contracts = models.PositiveIntegerField(default=0)
    total_gex_bn = models.FloatField(null=True)
    total_gex_model_bn = models.FloatField(null=True)
    gamma_flip = models.FloatField(null=True)
    call_wall = models.FloatField(null=True)
    put_wall = models.FloatField(null=True)
    pcr_oi = models.FloatField(null=True)
    pcr_volume = models.FloatField(null=True)
    dealer_bias_score = models.FloatField(default=0.5)
    bias_components = models.JSONField(default=dict, blank=True)  # signed inputs of the score, for tracing
    rejected_rows = models.PositiveIntegerField(default=0)  # source lines the parser left out
    es_basis = models.FloatField(null=True, help_text="ES minus the index at snapshot time (points)")
    profile = models.JSONField(default=list, blank=True)  # per-strike GEX
    cycles = models.JSONField(default=dict, blank=True)  # gamma cycles: max pain, skew, 0-DTE share...
    chain_path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-asof"]
        indexes = [models.Index(fields=["underlying", "-asof"])]

    def __str__(self) -> str:
        return f"{self.underlying} {self.asof:%Y-%m-%d %H:%M} bias={self.dealer_bias_score:.2f}"


class BiasSettings(SingletonConfig):
    """Dealer's-bias configuration (singleton)."""

    underlyings = models.CharField(max_length=50, default="SPX,NDX")
    snapshot_minutes = models.PositiveIntegerField(default=5)
    dealer_sign = models.CharField(max_length=16, default="classic",
                                   choices=[("classic", "classic: dealers long calls, short puts"),
                                            ("short_all", "dealers short all options")])
    es_spx_basis = models.FloatField(default=15.0, help_text="ES minus SPX, points, used when no live basis")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "dealer's-bias settings"
        verbose_name_plural = "dealer's-bias settings"

    def __str__(self) -> str:
        return "Dealer's-bias settings"
