"""The catastrophe monitor's Django side: automatic halts, each audited and alerted.

Account conditions (daily loss, drawdown, error rate) are checked after every fill; the feed and
the broker connection (both live in the gateway) are checked by the minute health task. A halt is
latched like a manual one: only a risk admin resumes.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.utils import timezone

from trading import services
from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.risk import CatastropheMonitor
from trading.engine.ticks import NS_PER_S
from trading.live import account
from trading.models import Order, TradingState
from trading.push import push

log = logging.getLogger(__name__)
ACTOR = services.Actor(name="risk-monitor", is_system=True)
_calendar: CmeCalendar | None = None


# Money limits close the position as well (a risk desk's auto-liquidation); connection losses only
# halt, keeping the position's stop at the broker, since orders cannot be worked without a feed.
FLATTEN_ON = {"DAILY_LOSS_EXCEEDED", "DRAWDOWN_EXCEEDED"}


def _halt(reasons: list[str]) -> bool:
    state = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).values_list("state", flat=True).first()
    if not reasons or state == TradingState.State.HALTED:
        return False
    text = "automatic halt: " + ", ".join(reasons)
    if FLATTEN_ON & set(reasons):
        services.flatten_all(actor=ACTOR, reason=text)
    else:
        services.set_trading_state(to=TradingState.State.HALTED, actor=ACTOR, reason=text)
    push("alert", {"level": "error", "message": text})
    log.error(text)
    return True


def check_account(*, at: datetime, last_price: float | None) -> list[str]:
    acct = account.account_state(at=at, last_price=last_price)
    now_ns = to_ns(at)
    since = timezone.now() - timedelta(days=1)
    sent = Order.objects.filter(created_at__gte=since).count()
    errors = Order.objects.filter(created_at__gte=since, state=Order.State.REJECTED).count()
    halts = CatastropheMonitor(account.risk_config()).evaluate(acct, now=now_ns, last_feed_ns=now_ns,
                                                               last_broker_ns=now_ns, orders_sent=sent,
                                                               order_errors=errors)
    reasons = [str(h) for h in halts]
    _halt(reasons)
    return reasons


def check_connections(*, feed_age_s: float | None, gateway_alive: bool) -> list[str]:
    """Feed or broker silent for more than the limit while the market is open: halt."""
    global _calendar
    _calendar = _calendar or CmeCalendar()
    now_ns = time.time_ns()
    if not _calendar.is_open(now_ns):
        return []
    config = account.risk_config()
    limit = config.feed_loss_seconds
    last_feed = None if feed_age_s is None else now_ns - int(feed_age_s * NS_PER_S)
    last_broker = now_ns if gateway_alive else None
    acct = account.account_state(at=timezone.now())
    halts = CatastropheMonitor(config).evaluate(acct, now=now_ns, last_feed_ns=last_feed, last_broker_ns=last_broker)
    reasons = [str(h) for h in halts if str(h) in ("FEED_LOST", "BROKER_LOST")]
    if reasons and (feed_age_s is None or feed_age_s > limit or not gateway_alive):
        _halt(reasons)
    return reasons
