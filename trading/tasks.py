"""Celery tasks of the trading queue. Thin: load by primary key, call a service, return little."""

from __future__ import annotations

import logging

from celery import shared_task

from trading import health, selectors
from trading.jobs import backtests  # noqa: F401 - registers mia.backtest_run (default queue)
from trading.live import cycle, monitor
from trading.models import Bar, Fill
from trading.pnl import pnl_snapshot
from trading.push import enabled as push_enabled
from trading.push import push
from trading.services import state_message

log = logging.getLogger(__name__)


@shared_task(name="trading.on_bar", autoretry_for=(ConnectionError,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def on_bar(bar_id: int) -> int | None:
    """The trading cycle for one closed bar: engine, decision, Signal row and orders, dashboard."""
    bar = Bar.objects.filter(pk=bar_id).first()
    if bar is None:
        log.warning("on_bar: bar %s not found; ignored", bar_id)
        return None
    push("bar", bar.as_message())
    signal = cycle.run_cycle(bar=bar)
    if signal is not None:
        push("signal", signal.as_message())
    if push_enabled():
        push("state", state_message(selectors.trading_state()))
    return signal.pk if signal is not None else None


@shared_task(name="mia.health_check")
def health_check() -> str:
    """Every minute (beat): compute health, push it, and halt if the feed or broker is lost."""
    report = health.report()
    push("health", report)
    monitor.check_connections()
    return report["status"]


@shared_task(name="trading.on_fill")
def on_fill(fill_id: int) -> int | None:
    """After a fill: push it with the P&L, then let the catastrophe monitor look at the account."""
    fill = Fill.objects.select_related("order__intent").filter(pk=fill_id).first()
    if fill is None:
        log.warning("on_fill: fill %s not found; ignored", fill_id)
        return None
    if push_enabled():
        _push_fill(fill)
    monitor.check_account(at=fill.ts, last_price=fill.price)
    return fill.pk


def _push_fill(fill: Fill) -> None:
    push("fill", {"id": fill.pk, "ts": fill.ts.isoformat(), "side": fill.side, "qty": fill.qty, "price": fill.price,
                  "role": fill.order.intent.role, "client_order_id": fill.order.client_order_id})
    push("pnl", pnl_snapshot(fill.order.intent.symbol, fill.price))
