"""Backtests launched from the browser: one row per run, updated by the worker as it goes."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BacktestRun(models.Model):
    """A backtest job. `data_path` is a file name inside `VAR_DIR/data`; outputs live in
    `VAR_DIR/backtests/<pk>/`. `result` holds the DESIGN §5 summary once done."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="backtest_runs")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    data_path = models.CharField(max_length=255)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)  # 0..1
    message = models.CharField(max_length=300, blank=True)
    result = models.JSONField(null=True, blank=True)
    report_path = models.CharField(max_length=500, blank=True)
    trades_csv_path = models.CharField(max_length=500, blank=True)
    equity_csv_path = models.CharField(max_length=500, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"backtest {self.pk} {self.options.get('strategy', '?')} on {self.data_path} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        return int(round(max(0.0, min(1.0, self.progress)) * 100))

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def metrics(self) -> list[tuple[str, str]]:
        """The summary in the DESIGN §5 key order (a JSON column need not keep the order)."""
        # Imported here: models load in every process at start-up, and the backtest package pulls in pandas.
        from trading.engine.backtest import SUMMARY_KEYS

        result = self.result or {}
        return [(key, _display(key, result[key])) for key in SUMMARY_KEYS if key in result]


def _display(key: str, value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if key == "win_rate":
        return f"{value * 100:.2f} %"
    if key == "max_drawdown_pct":
        return f"{value:.2f} %"
    if key.endswith("_usd"):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.3f}" if abs(value) >= 1 else f"{value:.4f}"
