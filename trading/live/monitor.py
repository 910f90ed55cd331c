"""The catastrophe monitor's Django side: automatic halts, each audited and alerted.

The money limits (daily loss, drawdown) are the strategy runner's, checked at every bar-close mark in
the live worker and the backtest alike (``trading.engine.runner``: flatten, and halt on drawdown).
Here: the order error rate after every fill, and the feed and broker connections (both live in the
gateway) from the minute health task. A halt is latched like a manual one: only a risk admin resumes.
Connection losses only halt, keeping the position's stop at the broker, since orders cannot be
worked without a feed.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from trading import config, services
from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.risk import CatastropheMonitor, HaltReason
from trading.engine.ticks import NS_PER_S
from trading.health import gateway_beat
from trading.live import account
from trading.models import Bar, Order, TradingState
from trading.push import push

log = logging.getLogger(__name__)
ACTOR = services.Actor(name="risk-monitor", is_system=True)
_calendar: CmeCalendar | None = None


def _halt(reasons: list[str]) -> bool:
    if not reasons or account.trading_state() == TradingState.State.HALTED:
        return False
    text = "automatic halt: " + ", ".join(reasons)
    services.set_trading_state(to=TradingState.State.HALTED, actor=ACTOR, reason=text)
    push("alert", {"level": "error", "message": text})
    log.error(text)
    return True


def check_account(*, at: datetime, last_price: float | None) -> list[str]:
    """The order error rate over the last day (measured at ``at``, feed time); halts past the limit."""
    acct = account.account_state(at=at, last_price=last_price)
    now_ns = to_ns(at)
    since = at - timedelta(days=1)
    sent = Order.objects.filter(created_at__gte=since).count()
    errors = Order.objects.filter(created_at__gte=since, state=Order.State.REJECTED).count()
    halts = CatastropheMonitor(config.risk_config()).evaluate(acct, now=now_ns, last_feed_ns=now_ns,
                                                              last_broker_ns=now_ns, orders_sent=sent,
                                                              order_errors=errors)
    reasons = [str(h) for h in halts if h == HaltReason.ERROR_RATE]
    _halt(reasons)
    return reasons


def check_connections(*, now: float | None = None) -> list[str]:
    """Halt when the feed or the gateway (the broker's side) has been silent for ``feed_loss_seconds``
    (5 minutes by default) of open-market time: a weekend or the daily break does not count, and a
    restart inside the window (heartbeats stop for a few seconds) does not halt.

    Last seen is the newer of the gateway's heartbeat (kept in Redis without expiry) and the newest
    stored bar (the database: a flushed Redis does not make the gateway look lost). Never seen at all
    (a fresh install) is not a halt: there is nothing to protect, and no entry goes out on stale data.
    """
    global _calendar
    _calendar = _calendar or CmeCalendar()
    wall = time.time() if now is None else now
    now_ns = int(wall * NS_PER_S)
    if not _calendar.is_open(now_ns):
        return []
    beat = gateway_beat()
    newest = Bar.objects.order_by("-ts").values_list("created_at", flat=True).first()
    stored = newest.timestamp() if newest is not None else None
    seen = max((t for t in (beat.get("at"), stored) if t), default=None)
    venue = beat.get("broker_status") or {}
    if venue.get("connected") is False:
        # The gateway is alive but its venue is not (IB 1100, socket down): lost since it last was.
        seen = venue.get("last_connected") or venue.get("since") or seen
    fed = max((t for t in (beat.get("last_tick_wall"), stored) if t), default=None)
    limit = config.risk_config().feed_loss_seconds
    reasons = []
    if fed is not None and _calendar.open_seconds(int(fed * NS_PER_S), now_ns) > limit:
        reasons.append(str(HaltReason.FEED_LOST))
    if seen is not None and _calendar.open_seconds(int(seen * NS_PER_S), now_ns) > limit:
        reasons.append(str(HaltReason.BROKER_LOST))
    _halt(reasons)
    return reasons
