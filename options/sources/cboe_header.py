"""The three lines before a CBOE chain's rows: title (index and spot), date (time and zone), header.

Split from ``cboe`` so the row parser stays one idea; both CBOE layouts (current CSV and the older
``quotedata.dat``) are read here, and every refusal names its line.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np

from options.analytics.chain import ChainFileError

N_FIELDS = 22

_NAME_TO_UNDERLYING = {
    "standard & poors 500 index": "SPX",
    "s&p 500 index": "SPX",
    "nasdaq 100": "NDX",
    "nasdaq-100 index": "NDX",
    "spdr s&p 500 etf trust": "SPY",
    "invesco qqq trust": "QQQ",
    "mini-spx index": "XSP",
}
_FIXED_TZ = {
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "UTC": 0,
    "GMT": 0,
}
_REGION_TZ = {"ET": "America/New_York", "CT": "America/Chicago", "PT": "America/Los_Angeles"}
_NEW_DATE = re.compile(
    r"^(?:Date:\s*)?([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4}),?\s+(?:at\s+)?(\d{1,2}):(\d{2})\s*([AaPp][Mm])"
    r"\s+([A-Za-z]{2,4})$"
)
_OLD_DATE = re.compile(r"^([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})\s+@\s+(\d{1,2}):(\d{2})\s+([A-Za-z]{2,4})$")


def _is_blank(line: str) -> bool:
    return not line.strip().strip(",").strip()


def _fields(line: str) -> list[str]:
    """CSV fields of one line with trailing empty padding (Excel re-saves) removed."""
    fields = next(csv.reader([line]), [])
    while fields and not fields[-1].strip():
        fields.pop()
    return [f.strip() for f in fields]


def _parse_title(fields: list[str], lineno: int) -> tuple[str, float]:
    if len(fields) >= 2:
        name, second = fields[0], fields[1]
        raw = second.split(":", 1)[1] if second.lower().startswith("last:") else second
        try:
            spot = float(raw.replace(",", ""))
        except ValueError:
            spot = float("nan")
        if name and np.isfinite(spot):
            if spot <= 0:
                raise ChainFileError(lineno, f"spot must be positive, got {spot}")
            return name, spot
    raise ChainFileError(lineno, "not a CBOE chain: expected a title line '<name>,Last: <spot>,...'")


def _parse_date(fields: list[str], lineno: int) -> dt.datetime:
    text = " ".join(fields[0].split()) if fields else ""
    m = _NEW_DATE.match(text)
    if m:
        month, day, year, hour, minute, ampm, tz = m.groups()
        hour_i = int(hour) % 12 + (12 if ampm.upper() == "PM" else 0)
    else:
        m = _OLD_DATE.match(text)
        if not m:
            raise ChainFileError(lineno, f"not a CBOE chain: expected a quote date line, got {text[:60]!r}")
        month, day, year, hour, minute, tz = m.groups()
        hour_i = int(hour)
    month_i = None
    for fmt in ("%B", "%b"):
        try:
            month_i = dt.datetime.strptime(month[:3] if fmt == "%b" else month, fmt).month
            break
        except ValueError:
            continue
    tz = tz.upper()
    if tz in _FIXED_TZ:
        tzinfo: dt.tzinfo = dt.timezone(dt.timedelta(hours=_FIXED_TZ[tz]))
    elif tz in _REGION_TZ:
        tzinfo = ZoneInfo(_REGION_TZ[tz])
    else:
        raise ChainFileError(lineno, f"unknown time zone {tz!r} in quote date")
    if month_i is None:
        raise ChainFileError(lineno, f"unknown month {month!r} in quote date")
    try:
        return dt.datetime(int(year), month_i, int(day), hour_i, int(minute), tzinfo=tzinfo)
    except ValueError as exc:
        raise ChainFileError(lineno, f"invalid quote date {text!r}: {exc}") from None


def _check_header(fields: list[str], lineno: int) -> None:
    names = [f.lower() for f in fields]
    ok = (
        len(names) == N_FIELDS
        and names[0] == "expiration date"
        and names[1] == "calls"
        and names[11] == "strike"
        and names[12] == "puts"
        and names[6] in ("volume", "vol")
        and names[10] in ("open interest", "open int")
    )
    if not ok:
        raise ChainFileError(
            lineno, "not a CBOE chain: expected the 22-column 'Expiration Date,Calls,...' header"
        )
