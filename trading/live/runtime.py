"""Wiring of the gateway process: feed, broker (paper or a venue), desk, command consumer, clock.

``run_gateway`` (the live process) and ``replay`` (the live path at full speed) build the same thing
here; they differ only in how a bar's trading cycle and a fill's follow-up are run (``enqueue``,
``on_fill``: a Celery task for the workers, or the same task run in this process).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.conf import settings

from mia_site.redis import redis_client
from trading import config, selectors, services
from trading.adapters.base import Broker, Feed
from trading.adapters.paper.broker import BARS, QUOTES, PaperBroker
from trading.live.clock import FeedClock
from trading.live.commands import Command
from trading.live.desk import Desk
from trading.live.gateway import Gateway
from trading.live.order_stream import CommandConsumer
from trading.models import Bar
from trading.push import push


def halt_on_poison(command: Command | dict, error: str) -> None:
    """A command that failed every attempt or cannot be read: trading halts so a human looks at it."""
    what = (f"{command.action} {command.client_order_id}" if isinstance(command, Command)
            else f"{command.get('action')} {command.get('client_order_id', '')}")
    reason = f"order command {what.strip()} failed: {error}"[:500]
    services.set_trading_state(to="HALTED", actor=services.Actor(name="gateway", is_system=True), reason=reason)
    push("alert", {"level": "error", "message": reason})


def build_gateway(feed: Feed, *, speed: float, enqueue: Callable[[Bar], None] | None,
                  on_fill: Callable[[int], None] | None, pushes: bool = True,
                  band_pct: float | None = None, broker: Broker | None = None,
                  broker_name: str = "paper") -> tuple[Gateway, list[str]]:
    """The gateway on ``broker`` (the paper broker when None), restored from the database and
    reconciled before any command; a venue that holds orders itself (IB) is reconciled again at
    every connection.

    Returns it with the reconciliation problems (trading is already halted when there are any).
    """
    feed_clock = FeedClock()
    if broker is None:
        broker = PaperBroker(fill_config=config.fill_config(), session=f"paper-{uuid.uuid4().hex[:8]}",
                             matching=BARS if feed.kind == "bars" else QUOTES)
    # A live venue's orders are dated in wall time; a simulated or replayed feed's in feed time.
    now_ns = time.time_ns if getattr(feed, "realtime", False) else feed_clock.now_ns
    desk = Desk(broker, symbol=settings.MIA_SYMBOL, now_ns=now_ns, on_fill=on_fill)
    problems = desk.restore_and_reconcile()
    commands = CommandConsumer(redis_client(), desk.handle, on_poison=halt_on_poison,
                               on_settled=lambda _: push("state", services.state_message(selectors.trading_state())))
    gateway = Gateway(feed=feed, symbol=settings.MIA_SYMBOL, speed=speed, broker=broker_name,
                      band_pct=settings.MIA_TICK_BAND_PCT if band_pct is None else band_pct, desk=desk,
                      commands=commands, feed_clock=feed_clock, enqueue=enqueue, pushes=pushes)
    return gateway, problems
