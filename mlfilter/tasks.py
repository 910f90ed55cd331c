"""Celery tasks of the ML filter (every task name starting `mlfilter.` is routed to the `ml` queue).

Beat runs `mlfilter.retrain` daily and `mlfilter.drift_check` hourly (seeded by `mia_setup`).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from mlfilter import jobs, services

log = logging.getLogger(__name__)
RETRY = {"autoretry_for": (ConnectionError, TimeoutError, OperationalError), "retry_backoff": True,
         "retry_backoff_max": 300, "retry_jitter": True, "max_retries": 5}


@shared_task(name="mlfilter.retrain", **RETRY)
def retrain(source: str = "schedule", min_samples: int = 1000) -> str:
    """Train on the stored bars; register, and auto-deploy when the new model beats the deployed one."""
    run = jobs.retrain(source=source, min_samples=min_samples)
    return f"run {run.pk} {run.status}"


@shared_task(name="mlfilter.drift_check", **RETRY)
def drift_check(limit: int = 500) -> str:
    """PSI of the last `limit` candidate signals against the deployed model's training baseline."""
    report = services.check_drift(limit=limit)
    if report is None:
        return "no_model"
    return "alert" if report.get("alert") else "ok"
