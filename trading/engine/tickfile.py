"""Read trade-tick CSV files (e.g. `Date and Time,Price,Volume`) into `Tick`s.

Rows that cannot be parsed are reported with their 1-based file line and reason rather than
dropped silently; value checks (grid, band, order) are the `TickValidator`'s job downstream.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trading.engine.ticks import Tick

_TIME_COLUMNS = ("date and time", "datetime", "timestamp", "time", "ts", "date_time")
_PRICE_COLUMNS = ("price", "last", "trade_price")
_SIZE_COLUMNS = ("volume", "size", "qty", "quantity")


class TickFileError(ValueError):
    """The file is not a tick file MIA can read."""


@dataclass
class TickFile:
    ticks: list[Tick]
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def is_tick_file(path: Path) -> bool:
    with open(path, newline="") as handle:
        header = next(csv.reader(handle), [])
    has_ohlc = _pick(header, ("open",)) is not None
    return not has_ohlc and _pick(header, _PRICE_COLUMNS) is not None and _pick(header, _TIME_COLUMNS) is not None


def read_ticks(path: Path, *, tz: str = "UTC") -> TickFile:
    with open(path, newline="") as handle:
        header = next(csv.reader(handle), [])
    t_col, p_col, s_col = _pick(header, _TIME_COLUMNS), _pick(header, _PRICE_COLUMNS), _pick(header, _SIZE_COLUMNS)
    if t_col is None or p_col is None:
        raise TickFileError(f"line 1: no time and price columns in header {header!r}")
    frame = pd.read_csv(path, header=0, dtype=str, skip_blank_lines=False, keep_default_na=False)
    raw_time = frame.iloc[:, t_col].str.strip()
    times = pd.to_datetime(raw_time, errors="coerce", format="mixed")
    if times.dt.tz is None:
        times = times.dt.tz_localize(tz).dt.tz_convert("UTC")
    prices = pd.to_numeric(frame.iloc[:, p_col], errors="coerce")
    if s_col is not None:
        sizes = pd.to_numeric(frame.iloc[:, s_col], errors="coerce")
    else:
        sizes = pd.Series(1.0, index=frame.index)
    blank = (raw_time == "") & frame.iloc[:, p_col].str.strip().eq("")
    bad = (times.isna() | prices.isna() | sizes.isna()) & ~blank
    rejected = [(int(i) + 2, "unparseable time, price or size") for i in frame.index[bad]]
    good = ~(bad | blank)
    ts_ns = times[good].dt.as_unit("ns").astype("int64").to_numpy()
    ticks = [Tick(ts_ns=int(t), price=float(p), size=float(s))
             for t, p, s in zip(ts_ns, prices[good].to_numpy(), sizes[good].to_numpy(), strict=True)]
    return TickFile(ticks=ticks, rejected=rejected)
