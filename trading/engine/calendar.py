"""The CME Globex calendar for equity-index futures (ES).

Sessions open at 17:00 America/Chicago and close at 16:00 the next day, Sunday to Friday; the
hour between is the daily maintenance break; weekends and exchange holidays (with their early
closes) come from pandas-market-calendars' ``CME_Equity`` calendar, so they stay current with
that package rather than with a hand-kept list. Lookups are a bisect over precomputed session
bounds, cheap enough for the per-tick and per-bar paths.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pandas_market_calendars as pmc

from trading.engine.limits import to_ns

NS_PER_S = 1_000_000_000
_CHICAGO = ZoneInfo("America/Chicago")


class CmeCalendar:
    """Open/closed answers for any UTC instant; the schedule extends itself on demand."""

    def __init__(self, start: str | None = None, end: str | None = None) -> None:
        self._cal = pmc.get_calendar("CME_Equity")
        today = pd.Timestamp.now(tz="UTC").normalize()
        self._start = pd.Timestamp(start, tz="UTC") if start else today - pd.Timedelta(days=3 * 366)
        self._end = pd.Timestamp(end, tz="UTC") if end else today + pd.Timedelta(days=2 * 366)
        self._build()

    def _build(self) -> None:
        schedule = self._cal.schedule(self._start.date(), self._end.date())
        self._opens = schedule["market_open"].to_numpy(dtype="datetime64[ns]").astype(np.int64).tolist()
        self._closes = schedule["market_close"].to_numpy(dtype="datetime64[ns]").astype(np.int64).tolist()

    def _cover(self, ts_ns: int) -> None:
        ts = pd.Timestamp(ts_ns, tz="UTC")
        if ts - pd.Timedelta(days=7) < self._start:
            self._start = ts - pd.Timedelta(days=366)
            self._build()
        elif ts + pd.Timedelta(days=7) > self._end:
            self._end = ts + pd.Timedelta(days=366)
            self._build()

    def _session_index(self, ts_ns: int) -> int:
        self._cover(ts_ns)
        return bisect_right(self._opens, ts_ns) - 1

    def is_open(self, ts_ns: int) -> bool:
        i = self._session_index(ts_ns)
        return i >= 0 and ts_ns < self._closes[i]

    def next_open(self, ts_ns: int) -> int:
        """`ts_ns` itself when the market is open, else the start of the next session."""
        if self.is_open(ts_ns):
            return ts_ns
        i = self._session_index(ts_ns)
        return self._opens[i + 1]

    def session_close(self, ts_ns: int) -> int | None:
        """The close of the session containing `ts_ns`, or None when the market is closed."""
        i = self._session_index(ts_ns)
        if i >= 0 and ts_ns < self._closes[i]:
            return self._closes[i]
        return None

    def open_seconds(self, start_ns: int, end_ns: int) -> float:
        """Seconds the market was open between two instants (a weekend or the daily break counts 0)."""
        if end_ns <= start_ns:
            return 0.0
        self._cover(start_ns)
        self._cover(end_ns)
        total = 0
        i = max(0, bisect_right(self._opens, start_ns) - 1)
        while i < len(self._opens) and self._opens[i] < end_ns:
            total += max(0, min(end_ns, self._closes[i]) - max(start_ns, self._opens[i]))
            i += 1
        return total / NS_PER_S

    def session_closes(self, ts_ns: np.ndarray) -> np.ndarray:
        """``session_close`` for many instants at once (0 where the market is closed), for backtests."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        if not len(ts):
            return np.zeros(0, dtype=np.int64)
        self._cover(int(ts.min()))
        self._cover(int(ts.max()))
        opens, closes = np.asarray(self._opens, dtype=np.int64), np.asarray(self._closes, dtype=np.int64)
        i = np.searchsorted(opens, ts, side="right") - 1
        safe = np.maximum(i, 0)
        inside = (i >= 0) & (ts < closes[safe])
        return np.where(inside, closes[safe], 0)

    def closed_reason(self, ts_ns: int) -> str | None:
        """None when open; otherwise 'maintenance_break', 'weekend' or 'holiday'."""
        if self.is_open(ts_ns):
            return None
        moment = datetime.fromtimestamp(ts_ns / NS_PER_S, tz=UTC).astimezone(_CHICAGO)
        weekday, hour = moment.weekday(), moment.hour
        if weekday == 5 or (weekday == 6 and hour < 17) or (weekday == 4 and hour >= 16):
            return "weekend"
        if hour == 16 and weekday < 4 and self.is_open(ts_ns + 3600 * NS_PER_S):
            return "maintenance_break"
        return "holiday"


def from_ns(ts_ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_ns // 1000)


__all__ = ["CmeCalendar", "from_ns", "to_ns"]
