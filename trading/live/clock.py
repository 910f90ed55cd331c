"""Clocks of the live path, injected so a replay runs the live code deterministically.

Two kinds of time matter live: *feed time* (the exchange time of the newest data the gateway has
seen: simulated time under the simulator, the file's time in a replay) and *wall time* (how long ago
the gateway last saw anything, which says whether the feed is alive). Decisions are dated in feed
time (a bar's close); liveness is judged in wall time.

* ``FeedClock``: kept by the gateway as data arrives, read by its desk (how old an entry is).
* ``HeartbeatFeedTime``: the same two readings as a worker process sees them, from the gateway's
  heartbeat in Redis.

``current()`` is what the worker's account view and monitor read; the gateway's own process (and
``manage.py replay``, which runs the worker's cycle in the gateway's process) installs its FeedClock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from trading.engine.calendar import to_ns
from trading.health import gateway_beat


class FeedTime(Protocol):
    def newest_ns(self) -> int | None: ...

    def age_s(self) -> float | None: ...


class FeedClock:
    """Feed time, advanced by the gateway; ``wall`` is injectable for tests."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._feed_ns: int | None = None
        self._seen_at: float | None = None

    def advance(self, feed_ns: int) -> None:
        """Data stamped ``feed_ns`` arrived now (feed time never goes back)."""
        if self._feed_ns is None or feed_ns > self._feed_ns:
            self._feed_ns = feed_ns
        self._seen_at = self._wall()

    def newest_ns(self) -> int | None:
        return self._feed_ns

    def age_s(self) -> float | None:
        return None if self._seen_at is None else self._wall() - self._seen_at

    def now_ns(self) -> int:
        """Feed time now: the newest data's time (wall time before any data)."""
        return self._feed_ns if self._feed_ns is not None else time.time_ns()


class HeartbeatFeedTime:
    """Feed time as a worker reads it from the gateway's heartbeat (missing heartbeat: unknown)."""

    def newest_ns(self) -> int | None:
        stamp = gateway_beat().get("last_tick_ts")
        return to_ns(datetime.fromisoformat(stamp)) if stamp else None

    def age_s(self) -> float | None:
        beat = gateway_beat()
        if beat.get("feed_ok") is False:
            return None  # the venue says its data is down: stale now, not when the last print ages out
        wall = beat.get("last_tick_wall")
        return time.time() - wall if wall else None


_current: FeedTime = HeartbeatFeedTime()


def current() -> FeedTime:
    return _current


def install(feed_time: FeedTime) -> FeedTime:
    """Make ``feed_time`` the process's feed time; returns the previous one (to restore it)."""
    global _current
    previous, _current = _current, feed_time
    return previous
