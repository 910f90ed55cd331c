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
from trading.live import account
from trading.models import Order, TradingState
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


def check_connections(*, feed_age_s: float | None, gateway_alive: bool) -> list[str]:
    """Feed or broker silent for more than the limit while the market is open: halt."""
    global _calendar
    _calendar = _calendar or CmeCalendar()
    now_ns = time.time_ns()
    if not _calendar.is_open(now_ns):
        return []
    limits = config.risk_config()
    limit = limits.feed_loss_seconds
    last_feed = None if feed_age_s is None else now_ns - int(feed_age_s * NS_PER_S)
    last_broker = now_ns if gateway_alive else None
    acct = account.account_state(at=datetime.fromtimestamp(now_ns / NS_PER_S).astimezone())
    halts = CatastropheMonitor(limits).evaluate(acct, now=now_ns, last_feed_ns=last_feed, last_broker_ns=last_broker)
    reasons = [str(h) for h in halts if str(h) in ("FEED_LOST", "BROKER_LOST")]
    if reasons and (feed_age_s is None or feed_age_s > limit or not gateway_alive):
        _halt(reasons)
    return reasons
