"""`manage.py run_gateway --feed sim|replay --broker paper`: the market-data process."""

from __future__ import annotations

import logging
import signal
import time
import uuid
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mia_site.redis import redis_client
from trading.adapters.paper.broker import PaperBroker
from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.ticks import NS_PER_S
from trading.live import account
from trading.live.desk import Desk
from trading.live.gateway import Gateway
from trading.live.order_stream import CommandConsumer
from trading.models import Bar

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the gateway: feed -> validation -> bars -> trading cycle."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--feed", default=settings.MIA_FEED, choices=["sim", "replay", "ibkr", "dtc"])
        parser.add_argument("--broker", default=settings.MIA_BROKER, choices=["paper", "ibkr"])
        parser.add_argument("--data", type=Path, help="file to replay (--feed replay)")
        parser.add_argument("--format", default="auto")
        parser.add_argument("--tz", default=None)
        parser.add_argument("--speed", type=float, default=float(settings.MIA_SIM_SPEED))
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--start", default=None, help="simulated start time, ISO-8601 UTC (sim only)")
        parser.add_argument("--minutes", type=float, default=None, help="stop after this much feed time")

    def handle(self, *args, **opts) -> None:
        if opts["speed"] <= 0:
            raise CommandError("--speed must be positive")
        if opts["broker"] != "paper":
            raise CommandError("--broker ibkr is not available yet; use --broker paper")
        feed = self._feed(opts)
        desk, commands = self._desk()
        gateway = Gateway(feed=feed, symbol=settings.MIA_SYMBOL, speed=opts["speed"], broker=opts["broker"],
                          band_pct=settings.MIA_TICK_BAND_PCT, desk=desk, commands=commands)
        signal.signal(signal.SIGTERM, lambda *_: gateway.stop())
        self.stdout.write(f"gateway: feed={feed.source} broker={opts['broker']} speed={opts['speed']}x")
        try:
            stats = gateway.run(max_sim_seconds=opts["minutes"] * 60 if opts["minutes"] else None)
        except KeyboardInterrupt:
            stats = gateway.stats
        self.stdout.write(f"gateway stopped: {stats.ticks} ticks, {stats.bars} bars, "
                          f"{stats.quarantined} quarantined {stats.reasons}")

    def _desk(self) -> tuple[Desk, CommandConsumer]:
        """The paper broker, restored from the database and reconciled before any new command."""
        broker = PaperBroker(fill_config=account.fill_config(), session=f"paper-{uuid.uuid4().hex[:8]}")
        desk = Desk(broker, symbol=settings.MIA_SYMBOL)
        problems = desk.restore_and_reconcile()
        if problems:
            self.stderr.write("reconciliation mismatch, trading HALTED: " + "; ".join(problems))
        return desk, CommandConsumer(redis_client(), desk.handle, on_poison=_halt_on_poison)

    def _feed(self, opts: dict):
        if opts["feed"] == "sim":
            from trading.adapters.sim.feed import SimulatedFeed

            calendar = CmeCalendar()
            start = to_ns(datetime.fromisoformat(opts["start"])) if opts["start"] else time.time_ns()
            start = calendar.next_open(start)
            if start > time.time_ns() + NS_PER_S:
                self.stdout.write("market closed now: the simulated clock starts at the next session open")
            # Continue from the last stored close so a restart does not jump the chart.
            closes = Bar.objects.filter(symbol=settings.MIA_SYMBOL).order_by("-ts").values_list("close", flat=True)
            last = closes.first()
            return SimulatedFeed(start_ns=start, seed=opts["seed"], calendar=calendar, start_price=last or 4800.0)
        if opts["feed"] == "replay":
            from trading.adapters.replay.feed import ReplayFeed

            if not opts["data"] or not opts["data"].exists():
                raise CommandError("--feed replay needs --data PATH to an existing file")
            return ReplayFeed(opts["data"], fmt=opts["format"], tz=opts["tz"])
        raise CommandError(f"--feed {opts['feed']} is not available yet; use sim or replay")


def _halt_on_poison(fields: dict, error: str) -> None:
    """A command that failed every attempt: trading halts so a human looks at it."""
    from trading import services
    from trading.push import push

    reason = f"order command {fields.get('action')} {fields.get('client_order_id', '')} failed: {error}"[:500]
    services.set_trading_state(to="HALTED", actor=services.Actor(name="gateway", is_system=True), reason=reason)
    push("alert", {"level": "error", "message": reason})
