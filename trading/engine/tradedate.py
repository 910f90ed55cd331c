"""CME trade dates of single instants, without numpy or pandas (``sessions`` has the vectorized forms).

Kept light because the command line and the selectors need a trade date and must start fast.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CHICAGO = "America/Chicago"
NS_PER_DAY = 86_400_000_000_000
NS_PER_HOUR = 3_600_000_000_000
SESSION_SHIFT_NS = 7 * NS_PER_HOUR  # 17:00 CT + 7 h = 24:00, so sessions roll at the Globex open


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
