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
