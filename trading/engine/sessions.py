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

import numpy as np
import pandas as pd

from trading.engine.tradedate import (
    CHICAGO,
    NS_PER_DAY,
    NS_PER_HOUR,
    SESSION_SHIFT_NS,
    ChicagoClock,
    session_date,
    session_id,
    trade_date,
)

__all__ = ["CHICAGO", "NS_PER_DAY", "NS_PER_HOUR", "NS_PER_MIN", "SESSION_SHIFT_NS", "ChicagoClock", "local_ns",
           "minute_of_day", "segment_of", "segments", "session_date", "session_id", "session_ids", "trade_date"]

NS_PER_MIN = 60_000_000_000
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



