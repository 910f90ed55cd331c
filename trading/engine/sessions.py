"""Trading-session arithmetic for ES on America/Chicago wall-clock time.

The session anchor is the CME Globex open, 17:00 America/Chicago: ES trades nearly 24 hours, so
a day anchored at the 08:30 CT cash open would split one continuous auction in two and leave the
overnight volume out of session VWAP and profile. (The RTH anchor, 08:30 CT, is the alternative
when only cash-hours behaviour matters; ``RTH_OPEN_MIN`` is exported for it.) The session id is
``floor((local_ns + 7 h) / 1 day)``: 17:00 CT plus 7 h is midnight, so a Sunday 17:00 open belongs
to Monday's session, as in CME's trade-date convention.

Segments of the session by CT time of day (minutes since midnight):

===========  ===============  =====================================================
segment      CT time          why it is distinct
===========  ===============  =====================================================
ASIA         17:00 - 02:00    thin, range-bound, drifts with Asian equities
LONDON       02:00 - 08:30    European cash open adds volume and first trends
US_OPEN      08:30 - 10:00    cash open and data releases: the day's strongest drive
MIDDAY       10:00 - 13:30    lunch lull, mean-reverting
US_CLOSE     13:30 - 16:00    MOC flows and rebalancing, trends resume into the close
BREAK        16:00 - 17:00    daily maintenance halt (15:15-15:30 CT halt included in US_CLOSE)
===========  ===============  =====================================================
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

CHICAGO = "America/Chicago"
NS_PER_MIN = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000
NS_PER_HOUR = 3_600_000_000_000
SESSION_SHIFT_NS = 7 * NS_PER_HOUR  # 17:00 CT + 7 h = 24:00, so sessions roll at the Globex open
RTH_OPEN_MIN = 8 * 60 + 30
RTH_CLOSE_MIN = 15 * 60

ASIA, LONDON, US_OPEN, MIDDAY, US_CLOSE, BREAK = range(6)
SEGMENT_NAMES = ("ASIA", "LONDON", "US_OPEN", "MIDDAY", "US_CLOSE", "BREAK")
# Segment start minutes (CT) and the segment each range maps to, for searchsorted/bisect.
_BOUNDS = (0, 120, 510, 600, 810, 960, 1020)
_SEGS = (ASIA, LONDON, US_OPEN, MIDDAY, US_CLOSE, BREAK, ASIA)


def local_ns(index: pd.DatetimeIndex) -> np.ndarray:
    """Chicago wall-clock time as int64 nanoseconds since the epoch, for a UTC index."""
    idx = pd.DatetimeIndex(index).as_unit("ns")
    return idx.tz_convert(CHICAGO).tz_localize(None).asi8


def session_ids(local: np.ndarray) -> np.ndarray:
    """Globex session id (days since epoch of the trade date) for Chicago wall-clock ns."""
    return (local + SESSION_SHIFT_NS) // NS_PER_DAY


def minute_of_day(local: np.ndarray) -> np.ndarray:
    """CT minutes since midnight, 0..1439."""
    return (local % NS_PER_DAY) // NS_PER_MIN


def segments(minutes: np.ndarray) -> np.ndarray:
    """Segment code (ASIA..BREAK) for CT minutes of day."""
    pos = np.searchsorted(np.asarray(_BOUNDS), minutes, side="right") - 1
    return np.asarray(_SEGS)[pos]


def segment_of(minute: int) -> int:
    """Scalar ``segments`` for the incremental path."""
    return _SEGS[bisect_right(_BOUNDS, minute) - 1]


class ChicagoClock:
    """UTC ns -> Chicago wall-clock ns for one bar at a time, caching the UTC offset per hour.

    Offsets only change on the hour (DST), so one zoneinfo lookup an hour keeps the per-bar cost to
    a dict hit.
    """

    def __init__(self) -> None:
        self._zone = ZoneInfo(CHICAGO)
        self._hour = -1
        self._offset = 0

    def local(self, ts_ns: int) -> int:
        """Wall-clock ns in Chicago for ``ts_ns`` (UTC ns)."""
        hour = ts_ns // NS_PER_HOUR
        if hour != self._hour:
            dt = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(self._zone)
            off = dt.utcoffset()
            self._offset = int(off.total_seconds()) * 1_000_000_000 if off is not None else 0
            self._hour = hour
        return ts_ns + self._offset


_EPOCH = date(1970, 1, 1)
_clock = ChicagoClock()


def session_id(ts_ns: int) -> int:
    """Globex session id (``session_ids``) of one UTC instant: days since the epoch of its CME trade date."""
    return (_clock.local(ts_ns) + SESSION_SHIFT_NS) // NS_PER_DAY


def trade_date(ts_ns: int) -> date:
    """The CME trade date of a UTC instant: the session opening at 17:00 CT belongs to the next day."""
    return _EPOCH + timedelta(days=session_id(ts_ns))


def session_date(sid: int) -> date:
    """The trade date of a session id."""
    return _EPOCH + timedelta(days=sid)
