"""The gateway loop: the one process that owns market data (DESIGN §1-§2).

tick -> validate (quarantine bad ticks) -> bar builder -> Bar row -> `trading.on_bar` after commit.
It paces the feed to `speed` x real time, pushes a few ticks a second to the dashboard, and
publishes a heartbeat (feed, age of the last tick, counts) to Redis for `/healthz`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from django.utils import timezone

from mia_site.redis import redis_client
from trading import services
from trading.engine.bars import BarBuilder, ClosedBar
from trading.engine.ticks import NS_PER_S, Tick, TickValidator
from trading.health import HEARTBEAT_KEY
from trading.live import order_stream
from trading.live.desk import Desk
from trading.live.order_stream import CommandConsumer
from trading.models import QuarantinedTick
from trading.pnl import pnl_snapshot
from trading.push import push

log = logging.getLogger(__name__)
HEARTBEAT_TTL_S = 15


class Feed(Protocol):
    source: str
    simulated: bool

    def ticks(self) -> Iterable[Tick]: ...


@dataclass
class GatewayStats:
    ticks: int = 0
    quarantined: int = 0
    bars: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    last_price: float | None = None
    last_tick_ns: int | None = None
    last_tick_wall: float | None = None


class Gateway:
    """Runs a feed through validation and bar building into the database."""

    def __init__(self, *, feed: Feed, symbol: str, speed: float = 1.0, broker: str = "paper",
                 band_pct: float = 2.0, push_ticks_per_s: float = 4.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 on_bar: Callable[[ClosedBar], None] | None = None, desk: Desk | None = None,
                 commands: CommandConsumer | None = None) -> None:
        self.feed = feed
        self.symbol = symbol
        self.speed = speed
        self.broker = broker
        self.validator = TickValidator(band_pct=band_pct)
        self.builder = BarBuilder(symbol)
        self.stats = GatewayStats()
        self.clock, self.sleep = clock, sleep
        self.push_interval = 1.0 / push_ticks_per_s
        self.on_bar = on_bar
        self.desk = desk
        self.commands = commands
        self._next_poll = 0.0
        self._next_sweep = 0.0
        self._next_pnl = 0.0
        self._quarantine: list[QuarantinedTick] = []
        self._anchor: tuple[int, float] | None = None
        self._next_push = 0.0
        self._next_beat = 0.0
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    def run(self, *, max_sim_seconds: float | None = None, max_ticks: int | None = None) -> GatewayStats:
        """Consume the feed until it ends, `stop()` is called, or a limit is reached."""
        start_ns: int | None = None
        try:
            for tick in self.feed.ticks():
                if start_ns is None:
                    start_ns = tick.ts_ns
                if max_sim_seconds is not None and tick.ts_ns - start_ns > max_sim_seconds * NS_PER_S:
                    break
                self._pace(tick.ts_ns)
                self.process(tick)
                if self._stopping or (max_ticks is not None and self.stats.ticks >= max_ticks):
                    break
        finally:
            self._close_last_bar()
            self._flush_quarantine()
            self._heartbeat(force=True)
        return self.stats

    def process(self, tick: Tick) -> None:
        stats = self.stats
        stats.ticks += 1
        reason = self.validator.check(tick)
        now = self.clock()
        if reason is not None:
            self._quarantine_tick(tick, reason)
        else:
            closed = self.builder.add(tick)
            stats.last_price, stats.last_tick_ns, stats.last_tick_wall = tick.price, tick.ts_ns, time.time()
            if closed is not None:
                self._store_bar(closed)
            if self.desk is not None:
                self._trade_safely(tick, now)
            if now >= self._next_push:
                self._next_push = now + self.push_interval
                push("tick", {"symbol": self.symbol, "ts": _iso(tick.ts_ns), "price": tick.price,
                              "bid": tick.bid, "ask": tick.ask, "size": tick.size})
        if now >= self._next_beat:
            self._flush_quarantine()
            self._heartbeat()

    def _trade_safely(self, tick: Tick, now: float) -> None:
        """A broker-side error halts trading and alerts; market data keeps flowing (fail closed)."""
        try:
            self._trade(tick, now)
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.exception("gateway broker step failed")
            try:
                services.set_trading_state(to="HALTED", actor=services.Actor(name="gateway", is_system=True),
                                           reason=f"gateway error: {type(exc).__name__}: {exc}"[:500])
            except Exception:  # noqa: BLE001 - already halted or the database is gone; the log has it
                log.exception("could not latch the halt")

    def _poll_commands(self, now: float) -> None:
        """Kill-switch commands must get through even when the feed is silent."""
        if self.commands is not None and now >= self._next_poll:
            self._next_poll = now + 0.1
            try:
                self.commands.poll()
            except Exception:  # noqa: BLE001 - retried on the next poll
                log.exception("order command poll failed")

    def _trade(self, tick: Tick, now: float) -> None:
        """Broker work on a valid tick: commands in, executions out, P&L marked to market."""
        if self.commands is not None and now >= self._next_poll:
            self._next_poll = now + 0.1
            self.commands.poll()
            if now >= self._next_sweep:
                self._next_sweep = now + 2.0
                order_stream.sweep_outbox(self.commands.client)
        self.desk.on_tick(tick)
        if now >= self._next_pnl:
            self._next_pnl = now + 1.0
            push("pnl", pnl_snapshot(self.symbol, tick.price))

    def _pace(self, ts_ns: int) -> None:
        """Sleep so simulated time runs at `speed` x wall time; re-anchor across long gaps."""
        now = self.clock()
        if self._anchor is None or ts_ns - self._anchor[0] < 0:
            self._anchor = (ts_ns, now)
            return
        due = self._anchor[1] + (ts_ns - self._anchor[0]) / NS_PER_S / self.speed
        if due - now > 5.0:  # a market-closed jump: don't sleep through it
            self._anchor = (ts_ns, now)
            return
        while due > now and not self._stopping:
            self.sleep(min(due - now, 0.25))
            now = self.clock()
            if self.desk is not None:
                self._poll_commands(now)
            # Simulated "now" while waiting for the next tick; never past it, or a sleep that overshoots
            # would close the current minute's bar before its last tick arrives.
            self._close_bar_on_time(min(ts_ns, ts_ns - int((due - now) * self.speed * NS_PER_S)))
            if now >= self._next_beat:
                self._heartbeat()

    def _close_bar_on_time(self, sim_now_ns: int) -> None:
        closed = self.builder.flush(sim_now_ns)
        if closed is not None:
            self._store_bar(closed)

    def _close_last_bar(self) -> None:
        if self.stats.last_tick_ns is not None:
            self._close_bar_on_time(self.stats.last_tick_ns + 60 * NS_PER_S)

    def _store_bar(self, bar: ClosedBar) -> None:
        row = services.record_bar(bar=bar, source=self.feed.source)
        if row is not None:
            self.stats.bars += 1
        if self.on_bar is not None:
            self.on_bar(bar)

    def _quarantine_tick(self, tick: Tick, reason: str) -> None:
        self.stats.quarantined += 1
        self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        self._quarantine.append(QuarantinedTick(
            received_at=timezone.now(), source=self.feed.source, symbol=self.symbol,
            ts=_dt(tick.ts_ns), price=_finite(tick.price), size=_finite(tick.size), bid=_finite(tick.bid),
            ask=_finite(tick.ask), reason=reason))

    def _flush_quarantine(self) -> None:
        if self._quarantine:
            rows, self._quarantine = self._quarantine, []
            services.quarantine_ticks(rows=rows)

    def _heartbeat(self, *, force: bool = False) -> None:
        self._next_beat = self.clock() + 1.0
        stats = self.stats
        beat = {"at": time.time(), "feed": self.feed.source, "broker": self.broker, "symbol": self.symbol,
                "simulated": self.feed.simulated, "speed": self.speed, "ticks": stats.ticks, "bars": stats.bars,
                "quarantined": stats.quarantined, "last_price": stats.last_price,
                "last_tick_wall": stats.last_tick_wall,
                "last_tick_ts": _iso(stats.last_tick_ns) if stats.last_tick_ns else None}
        client = redis_client()
        if client is not None:
            try:
                client.set(HEARTBEAT_KEY, json.dumps(beat), ex=HEARTBEAT_TTL_S)
            except Exception:  # noqa: BLE001 - health reporting must not stop market data
                log.warning("gateway heartbeat to Redis failed", exc_info=True)
        push("health", {"gateway": beat})


def _dt(ts_ns: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(ts_ns / NS_PER_S, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(ts_ns: int) -> str:
    moment = _dt(ts_ns)
    return moment.isoformat() if moment else ""


def _finite(value: float | None) -> float | None:
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)
