"""The gateway loop: the one process that owns market data and the broker (DESIGN §1-§2).

tick -> validate (quarantine bad ticks) -> bar builder -> closed bar; or, from a bar feed, a closed
bar -> bar validation. Each closed bar is then, in this order: matched by the broker when it matches
on bars, marked in the book, stored as a Bar row, and its trading cycle enqueued after commit
(``enqueue``; ``manage.py replay`` runs it in this process and carries out its commands before the
next bar, which is what makes a replay deterministic). It paces the feed to ``speed`` x real time,
pushes a few ticks a second to the dashboard, and publishes a heartbeat (feed, feed time and wall
time of the newest data, counts) to Redis for `/healthz` and the workers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as QueueUnreachable

from mia_site.redis import redis_client
from trading import services
from trading.adapters.base import Feed, History, Idle
from trading.engine.bars import BarBuilder, BarValidator, ClosedBar
from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.ticks import NS_PER_S, Tick, TickValidator
from trading.health import HEARTBEAT_KEY
from trading.live.clock import FeedClock
from trading.live.desk import Desk
from trading.live.order_stream import CommandConsumer
from trading.models import AuditLog, Bar, QuarantinedTick
from trading.pnl import pnl_snapshot
from trading.push import push

log = logging.getLogger(__name__)
# Redis or the task queue unreachable: infrastructure, not a broker error. It never halts by itself;
# the data goes stale (no new orders) and everything catches up when it is back.
INFRASTRUCTURE = (redis.RedisError, QueueUnreachable, ConnectionError, TimeoutError)
# How far back a gateway looks for stored bars whose trading cycle was never enqueued.
CATCH_UP_WINDOW = timedelta(hours=1)
# Open-market time without a bar (after a restart, or a feed outage) recorded as a gap in the data.
GAP_RECORDED_S = 300.0
# Bars from a venue's history (the warm-up) are stored under "<feed>-history" and never get a cycle.
HISTORY_SUFFIX = "-history"
# A live bar closes this long after its minute ends: venues stamp prints to the second and deliver late.
LIVE_BAR_GRACE_NS = 1_500_000_000


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
    """Runs a feed through validation and bar building into the database and the broker."""

    def __init__(self, *, feed: Feed, symbol: str, speed: float = 1.0, broker: str = "paper",
                 band_pct: float = 2.0, push_ticks_per_s: float = 4.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 on_bar: Callable[[ClosedBar], None] | None = None, enqueue: Callable[[Bar], None] | None = None,
                 desk: Desk | None = None, commands: CommandConsumer | None = None,
                 feed_clock: FeedClock | None = None, pushes: bool = True) -> None:
        self.feed = feed
        self.symbol = symbol
        self.speed = speed
        self.broker = broker
        self.validator = TickValidator(band_pct=band_pct)
        self.bar_validator = BarValidator()
        self.builder = BarBuilder(symbol)
        self.stats = GatewayStats()
        self.clock, self.sleep = clock, sleep
        self.push_interval = 1.0 / push_ticks_per_s
        self.on_bar = on_bar
        self.enqueue = enqueue
        self.desk = desk
        self.commands = commands
        self.feed_clock = feed_clock or FeedClock()
        self.pushes = pushes
        self._next_poll = 0.0
        self._next_sweep = 0.0
        self._next_pnl = 0.0
        self._quarantine: list[QuarantinedTick] = []
        self._anchor: tuple[int, float] | None = None
        self._next_push = 0.0
        self._next_beat = 0.0
        self._stopping = False
        self._behind = True  # at start, and after a failed enqueue: catch up missed cycles first
        self._calendar = CmeCalendar()
        self._last_bar_end: datetime | None = None
        self._stored_checked = False

    def stop(self) -> None:
        self._stopping = True

    def run(self, *, max_sim_seconds: float | None = None, max_ticks: int | None = None) -> GatewayStats:
        """Consume the feed until it ends, `stop()` is called, or a limit is reached."""
        start_ns: int | None = None
        realtime = getattr(self.feed, "realtime", False)
        try:
            for event in self.feed.events():
                if isinstance(event, (Idle, History)):
                    self.step(event)
                    if self._stopping:
                        break
                    continue
                ts_ns = event.ts_ns if isinstance(event, Tick) else to_ns(event.ts)
                if start_ns is None:
                    start_ns = ts_ns
                if max_sim_seconds is not None and ts_ns - start_ns > max_sim_seconds * NS_PER_S:
                    break
                if not realtime:
                    self._pace(ts_ns)
                if isinstance(event, Tick):
                    self.process(event)
                else:
                    self.process_bar(event)
                if self._stopping or (max_ticks is not None and self.stats.ticks >= max_ticks):
                    break
        finally:
            self._close_last_bar()
            self._flush_quarantine()
            self._heartbeat(force=True)
        return self.stats

    # -- ticks ----------------------------------------------------------------------------------------
    def process(self, tick: Tick) -> None:
        stats = self.stats
        stats.ticks += 1
        reason = self.validator.check(tick)
        now = self.clock()
        if reason is not None:
            self._quarantine_tick(tick, reason)
        else:
            closed = self.builder.add(tick)
            self._saw(tick.price, tick.ts_ns)
            if closed is not None:
                self._closed_bar(closed)
            if self.desk is not None:
                self._trade_safely(lambda: self._trade(tick, now))
            if self.pushes and now >= self._next_push:
                self._next_push = now + self.push_interval
                push("tick", {"symbol": self.symbol, "ts": _iso(tick.ts_ns), "price": tick.price,
                              "bid": tick.bid, "ask": tick.ask, "size": tick.size})
        if now >= self._next_beat:
            self._flush_quarantine()
            self._heartbeat()

    def _trade(self, tick: Tick, now: float) -> None:
        """Broker work on a valid tick: commands in, executions out, P&L marked to market."""
        self._poll_commands(now)
        self.desk.on_tick(tick)
        self.desk.poll()
        if self.pushes and now >= self._next_pnl:
            self._next_pnl = now + 1.0
            push("pnl", pnl_snapshot(self.symbol, tick.price))

    # -- a live venue's quiet moments and history ------------------------------------------------------
    def step(self, event: Tick | ClosedBar | Idle | History) -> None:
        """One event of a live feed, unpaced (``run`` does this for every event; tests drive it directly)."""
        if isinstance(event, Idle):
            self.idle(event.now_ns)
        elif isinstance(event, History):
            self.store_history(event.bars)
        elif isinstance(event, Tick):
            self.process(event)
        else:
            self.process_bar(event)

    def idle(self, now_ns: int) -> None:
        """Nothing new from a live feed: the minute's bar closes on time (a little grace for prints
        stamped to the second), commands and the broker's reports are read, the heartbeat goes out."""
        self._close_bar_on_time(now_ns - LIVE_BAR_GRACE_NS)
        if self.desk is not None:
            self._trade_safely(self._poll_now)
            self._trade_safely(self.desk.poll)
        if self.clock() >= self._next_beat:
            self._flush_quarantine()
            self._heartbeat()

    @property
    def history_source(self) -> str:
        return f"{self.feed.source}{HISTORY_SUFFIX}"

    def store_history(self, bars: tuple[ClosedBar, ...]) -> int:
        """The venue's recent bars (the engine's warm-up): stored when valid and new, never traded on."""
        stored = 0
        for bar in bars:
            if self.bar_validator.check(bar) is None and services.record_bar(bar=bar, source=self.history_source):
                stored += 1
        if bars:
            self._last_bar_end = max(bar.end for bar in bars)
            self._stored_checked = True
        log.info("history: %d of %d bars stored (warm-up; no trading cycles)", stored, len(bars))
        return stored

    # -- bars -----------------------------------------------------------------------------------------
    def process_bar(self, bar: ClosedBar) -> None:
        """A closed bar from a bar feed: validated like a print, then handled like a built bar."""
        reason = self.bar_validator.check(bar)
        if reason is not None:
            self._quarantine_bar(bar, reason)
            return
        self._saw(bar.close, to_ns(bar.ts) + bar.interval_s * NS_PER_S)
        self._closed_bar(bar)
        if self.desk is not None:
            self._trade_safely(self._poll_now)
        if self.clock() >= self._next_beat:
            self._flush_quarantine()
            self._heartbeat()

    def _closed_bar(self, bar: ClosedBar) -> None:
        """Match (bar brokers), mark the book at the close, store the bar, enqueue its cycle after commit."""
        self._check_gap(bar)
        if self.desk is not None:
            self._trade_safely(lambda: self._match_and_mark(bar))
        with transaction.atomic():
            row = services.record_bar(bar=bar, source=self.feed.source)
            if row is not None and self.enqueue is not None:
                transaction.on_commit(lambda: self._enqueue(row))
        if row is not None:
            self.stats.bars += 1
        if self.on_bar is not None:
            self.on_bar(bar)

    def _check_gap(self, bar: ClosedBar) -> None:
        """A bar that starts well after the previous one ended while the market was open is a gap in the
        data (a restart, a feed outage): recorded in the audit trail and alerted, never silently skipped.
        The first bar after a start is checked against the newest stored bar."""
        if not self._stored_checked:
            self._stored_checked = True
            last = Bar.objects.filter(symbol=self.symbol).order_by("-ts").first()
            if last is not None:
                self._last_bar_end = last.ts + timedelta(seconds=last.interval_s)
        previous, self._last_bar_end = self._last_bar_end, bar.end
        if previous is None or bar.ts <= previous:
            return
        missing = self._calendar.open_seconds(to_ns(previous), to_ns(bar.ts))
        if missing < GAP_RECORDED_S:
            return
        reason = (f"no market data from {previous:%Y-%m-%d %H:%M} to {bar.ts:%Y-%m-%d %H:%M} UTC "
                  f"({missing / 60:.0f} min of open market)")
        log.warning("gap in the data: %s", reason)
        AuditLog.objects.create(actor="gateway", action="feed.gap", reason=reason,
                                after={"from": previous.isoformat(), "to": bar.ts.isoformat(),
                                       "open_minutes": round(missing / 60, 1)})
        if self.pushes:
            push("alert", {"level": "warning", "message": f"gap in the data: {reason}"})

    def _match_and_mark(self, bar: ClosedBar) -> None:
        self.desk.on_bar(bar)
        self.desk.mark(bar)

    def _enqueue(self, row: Bar) -> None:
        """Enqueue the bar's cycle; if the queue is unreachable, the bar stays stored and its cycle is
        enqueued with the next bar that can be, oldest first, so no bar goes without its exits and stop
        management. (The worker records a cycle that runs late; it opens nothing on stale data.)"""
        try:
            if self._behind:
                self._catch_up(before=row.ts)
            self.enqueue(row)
        except Exception as exc:  # noqa: BLE001 - see docstring
            self._behind = True
            log.warning("bar %s stored, but its trading cycle could not be enqueued (%s); it will be when the "
                        "queue is back", row.pk, exc)
            return
        self._behind = False

    def _catch_up(self, *, before) -> None:
        missed = list(Bar.objects.filter(symbol=self.symbol, signal__isnull=True, ts__lt=before,
                                         ts__gte=before - CATCH_UP_WINDOW)
                      .exclude(source__endswith=HISTORY_SUFFIX).order_by("ts"))
        for bar in missed:
            self.enqueue(bar)
        if missed:
            log.warning("%d stored bar(s) had no trading cycle; enqueued in order (%s .. %s)", len(missed),
                        missed[0].ts, missed[-1].ts)

    # -- broker ---------------------------------------------------------------------------------------
    def _trade_safely(self, step: Callable[[], object]) -> None:
        """A broker-side error halts trading and alerts; market data keeps flowing (fail closed). Redis or
        the task queue unreachable is not a broker error: logged, never a halt by itself."""
        try:
            step()
        except INFRASTRUCTURE as exc:
            log.warning("gateway step hit an infrastructure error (%s: %s); no halt, it recovers by itself",
                        type(exc).__name__, exc)
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.exception("gateway broker step failed")
            try:
                services.set_trading_state(to="HALTED", actor=services.Actor(name="gateway", is_system=True),
                                           reason=f"gateway error: {type(exc).__name__}: {exc}"[:500])
            except Exception:  # noqa: BLE001 - already halted or the database is gone; the log has it
                log.exception("could not latch the halt")

    def _poll_commands(self, now: float) -> None:
        """Commands every 0.1 s; the outbox sweep every 2 s (a command Redis never delivered).

        Redis unreachable is infrastructure, not a broker error: it never halts by itself, and the
        commands keep coming from the database sweep until the stream is back.
        """
        if self.commands is None or now < self._next_poll:
            return
        self._next_poll = now + 0.1
        try:
            self.commands.poll()
        except INFRASTRUCTURE as exc:
            log.warning("order stream unreachable (%s); commands come from the database sweep", exc)
        if now >= self._next_sweep:
            self._next_sweep = now + 2.0
            self.commands.sweep()

    def _poll_now(self) -> None:
        self._poll_commands(self.clock())

    def drain_commands(self) -> None:
        """Carry out every committed command now (replay: the cycle's orders before the next bar)."""
        if self.commands is None:
            return
        while self.commands.poll():
            pass
        self.commands.sweep(older_than_s=0.0)

    # -- pacing and time ------------------------------------------------------------------------------
    def _saw(self, price: float, feed_ns: int) -> None:
        stats = self.stats
        stats.last_price, stats.last_tick_ns, stats.last_tick_wall = price, feed_ns, time.time()
        self.feed_clock.advance(feed_ns)

    def _pace(self, ts_ns: int) -> None:
        """Sleep so feed time runs at `speed` x wall time; re-anchor across long gaps."""
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
                self._trade_safely(self._poll_now)  # the kill switch gets through even when the feed is silent
            # Feed "now" while waiting for the next tick; never past it, or a sleep that overshoots
            # would close the current minute's bar before its last tick arrives.
            self._close_bar_on_time(min(ts_ns, ts_ns - int((due - now) * self.speed * NS_PER_S)))
            if now >= self._next_beat:
                self._heartbeat()

    def _close_bar_on_time(self, sim_now_ns: int) -> None:
        closed = self.builder.flush(sim_now_ns)
        if closed is not None:
            self._closed_bar(closed)

    def _close_last_bar(self) -> None:
        if self.stats.last_tick_ns is not None:
            self._close_bar_on_time(self.stats.last_tick_ns + 60 * NS_PER_S)

    # -- quarantine and heartbeat ---------------------------------------------------------------------
    def _quarantine_tick(self, tick: Tick, reason: str) -> None:
        self._count_bad(reason)
        self._quarantine.append(QuarantinedTick(
            received_at=timezone.now(), source=self.feed.source, symbol=self.symbol,
            ts=_dt(tick.ts_ns), price=_finite(tick.price), size=_finite(tick.size), bid=_finite(tick.bid),
            ask=_finite(tick.ask), reason=reason))

    def _quarantine_bar(self, bar: ClosedBar, reason: str) -> None:
        self._count_bad(reason)
        self._quarantine.append(QuarantinedTick(
            received_at=timezone.now(), source=self.feed.source, symbol=self.symbol, ts=bar.ts,
            price=_finite(bar.close), size=_finite(bar.volume), bid=_finite(bar.bid), ask=_finite(bar.ask),
            reason=reason))

    def _count_bad(self, reason: str) -> None:
        self.stats.quarantined += 1
        self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1

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
        status = getattr(self.feed, "status", None)
        if status is not None:
            beat["venue"] = status()
            # A venue that says its market data is down (IB 1100, a broken farm) makes the data stale
            # at once, whatever the last print's age: no entry goes out on it.
            beat["feed_ok"] = bool(beat["venue"].get("market_data", True))
        broker_status = getattr(self.desk.broker if self.desk else None, "status", None)
        if broker_status is not None:
            beat["broker_status"] = broker_status()
        client = redis_client()
        if client is not None:
            try:
                # No expiry: its age says whether the gateway is alive, and how long it has been gone
                # (the monitor's feed- and broker-lost windows) once it is not.
                client.set(HEARTBEAT_KEY, json.dumps(beat))
            except Exception:  # noqa: BLE001 - health reporting must not stop market data
                log.warning("gateway heartbeat to Redis failed", exc_info=True)
        if self.pushes:
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
