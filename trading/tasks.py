"""Celery tasks of the trading queue. Thin: load by primary key, call a service, return little."""

from __future__ import annotations

import logging

from celery import shared_task

from trading import health, selectors
from trading.models import Bar
from trading.push import push
from trading.services import state_message

log = logging.getLogger(__name__)


@shared_task(name="trading.on_bar", autoretry_for=(ConnectionError,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def on_bar(bar_id: int) -> int | None:
    """The trading cycle for one closed bar (the engine joins here in the signal-engine issue)."""
    bar = Bar.objects.filter(pk=bar_id).first()
    if bar is None:
        log.warning("on_bar: bar %s not found; ignored", bar_id)
        return None
    push("bar", bar.as_message())
    push("state", state_message(selectors.trading_state()))
    return bar.pk


@shared_task(name="mia.health_check")
def health_check() -> str:
    """Every minute (beat): compute health and push it to the dashboard."""
    report = health.report()
    push("health", report)
    return report["status"]
