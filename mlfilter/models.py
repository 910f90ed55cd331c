"""The ML filter's records: every trained model version (and which one is live) and every training run."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

DEFAULT_THRESHOLD = 0.65  # DESIGN section 4; EnsembleConfig's default


class ModelVersion(models.Model):
    """One trained ensemble: where its artifacts are, what it saw, how it scored out of sample.

    At most one row is ``deployed`` (the model the trading cycle scores with): the service flips it
    inside one transaction and a partial unique index makes a second deployed row impossible.
    """

    class TrainedOn(models.TextChoices):
        REAL = "real", "Real market data"
        SIMULATED = "simulated", "Simulated data"

    version = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    trained_on = models.CharField(max_length=10, choices=TrainedOn.choices)
    source = models.CharField(max_length=32, blank=True, help_text="bootstrap, retrain, cli, ...")
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    data_hash = models.CharField(max_length=64, blank=True)
    samples = models.PositiveIntegerField(default=0)
    features = models.JSONField(default=list)
    parameters = models.JSONField(default=dict)
    # {"summary": train_filter JSON, "overall": walk-forward pooled, "folds": [...], "validation": {...}}
    metrics = models.JSONField(default=dict)
    feature_importances = models.JSONField(default=dict)
    # {"source": "walk_forward_oos" | "validation" | "", "bins": [{"lo", "hi", "predicted", "observed", "n"}]}
    calibration = models.JSONField(default=dict)
    drift_baseline = models.JSONField(default=dict)
    last_drift = models.JSONField(null=True, blank=True)
    last_drift_at = models.DateTimeField(null=True, blank=True)
    format_version = models.PositiveSmallIntegerField()
    artifact_dir = models.CharField(max_length=500)
    deployed = models.BooleanField(default=False)
    deployed_at = models.DateTimeField(null=True, blank=True)
    deployed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["deployed"], condition=Q(deployed=True),
                                    name="mlfilter_one_deployed_model"),
        ]

    def __str__(self) -> str:
        return f"{self.version}{' (deployed)' if self.deployed else ''}"

    @property
    def simulated(self) -> bool:
        return self.trained_on == self.TrainedOn.SIMULATED

    @property
    def overall(self) -> dict[str, Any]:
        return self.metrics.get("overall") or {}

    @property
    def auc(self) -> float | None:
        return self.overall.get("auc")

    @property
    def brier(self) -> float | None:
        return self.overall.get("brier")

    @property
    def threshold(self) -> float:
        value = (self.parameters.get("ensemble") or {}).get("threshold")
        return float(value) if value is not None else DEFAULT_THRESHOLD


class TrainingRun(models.Model):
    """One attempt to train a model (scheduled retrain, bootstrap, CLI), with its live progress."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=32, blank=True)
    samples = models.PositiveIntegerField(null=True, blank=True)
    model = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.source} {self.status}"

    def as_message(self) -> dict[str, Any]:
        return {"id": self.pk, "status": self.status, "progress": round(self.progress, 3), "message": self.message,
                "source": self.source, "samples": self.samples, "model": self.model.version if self.model else None,
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}
