"""`manage.py run_gateway --feed sim|replay|ibkr --broker paper|ibkr`: the market-data and order process.

``--feed ibkr`` streams the ES front month from IB Gateway/TWS (``MIA_IB_*``, see the README);
``--broker ibkr`` trades it there and needs ``--feed ibkr`` (the orders go on the contract the feed
resolved). The paper broker can trade on IB's quotes (``--feed ibkr --broker paper``).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trading.adapters.ibkr.broker import IbBroker
from trading.adapters.ibkr.config import IbConfig, IbConfigError
from trading.adapters.ibkr.connection import IbSession
from trading.adapters.ibkr.feed import IbFeed
from trading.adapters.replay.feed import ReplayFeed
from trading.adapters.sim.feed import SimulatedFeed
from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.ticks import NS_PER_S
from trading.live import runtime
from trading.models import Bar
from trading.tasks import on_bar, on_fill

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
        parser.add_argument("--ib-host", default=None, help="IB Gateway/TWS host (MIA_IB_HOST)")
        parser.add_argument("--ib-port", type=int, default=None, help="its API port (MIA_IB_PORT, 4002)")
        parser.add_argument("--ib-client-id", type=int, default=None, help="API client id (MIA_IB_CLIENT_ID, 1)")

    def handle(self, *args, **opts) -> None:
        if opts["speed"] <= 0:
            raise CommandError("--speed must be positive")
        if opts["broker"] == "ibkr" and opts["feed"] != "ibkr":
            raise CommandError("--broker ibkr trades the contract the IB feed resolves; use it with --feed ibkr")
        session = self._ib_session(opts) if opts["feed"] == "ibkr" else None
        feed = IbFeed(session, symbol=settings.MIA_SYMBOL) if session is not None else self._feed(opts)
        broker = None
        if opts["broker"] == "ibkr":
            broker = IbBroker(session, lambda: feed.ib_contract)
        # retry=False: with the queue unreachable a publish fails at once instead of blocking market data;
        # the gateway enqueues the missed cycles, in order, when the queue is back.
        gateway, problems = runtime.build_gateway(
            feed, speed=opts["speed"], enqueue=lambda bar: on_bar.apply_async((bar.pk,), retry=False),
            on_fill=lambda fill_id: on_fill.apply_async((fill_id,), retry=False), broker=broker,
            broker_name=opts["broker"])
        if problems:
            self.stderr.write("reconciliation mismatch, trading HALTED: " + "; ".join(problems))
        def stop(*_: object) -> None:
            gateway.stop()
            if session is not None:
                feed.stop()

        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"gateway: feed={feed.source} broker={opts['broker']} speed={opts['speed']}x")
        stats = gateway.stats
        try:
            stats = gateway.run(max_sim_seconds=opts["minutes"] * 60 if opts["minutes"] else None)
        except KeyboardInterrupt:
            stats = gateway.stats
        finally:
            if session is not None:
                session.disconnect()
        self.stdout.write(f"gateway stopped: {stats.ticks} ticks, {stats.bars} bars, "
                          f"{stats.quarantined} quarantined {stats.reasons}")

    def _ib_session(self, opts: dict) -> IbSession:
        try:
            ib_config = IbConfig.from_env(os.environ, host=opts["ib_host"], port=opts["ib_port"],
                                          client_id=opts["ib_client_id"])
            if opts["broker"] == "ibkr":
                ib_config.check_broker_account()
        except IbConfigError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"IB: {ib_config!r}")
        return IbSession(ib_config)

    def _feed(self, opts: dict):
        if opts["feed"] == "sim":
            calendar = CmeCalendar()
            last = Bar.objects.filter(symbol=settings.MIA_SYMBOL).order_by("-ts").first()
            start = to_ns(datetime.fromisoformat(opts["start"])) if opts["start"] else time.time_ns()
            if last is not None and not opts["start"]:
                # Resume after the newest stored bar: simulated time may run ahead of the wall clock
                # (speed, a closed market skipped), and a clock restarted behind the stored bars would
                # see every new bar refused as already stored.
                start = max(start, to_ns(last.ts) + last.interval_s * NS_PER_S)
            start = calendar.next_open(start)
            if start > time.time_ns() + NS_PER_S:
                self.stdout.write("simulated time runs ahead of the wall clock (market closed now, or resuming "
                                  "after the newest stored bar)")
            # Continue from the last stored close so a restart does not jump the chart.
            return SimulatedFeed(start_ns=start, seed=opts["seed"], calendar=calendar,
                                 start_price=last.close if last else 4800.0)
        if opts["feed"] == "replay":
            if not opts["data"] or not opts["data"].exists():
                raise CommandError("--feed replay needs --data PATH to an existing file")
            return ReplayFeed(opts["data"], fmt=opts["format"], tz=opts["tz"], symbol=settings.MIA_SYMBOL)
        raise CommandError(f"--feed {opts['feed']} is not available yet; use sim or replay")
