"""Vectorized checks on a parsed bar table, each bad row reported with its file line number.

A file row that fails any check is dropped and reported once, with the first failing reason in
the order below, so the report reads like a list of fixes for the file:

1. a missing open/high/low/close/volume value (``missing <col>``);
2. a price <= 0 (``non-positive <col>``);
3. a price off the tick grid (``<col> off tick grid <tick>``) when ``tick_size`` is set;
4. ``high < low``; ``open outside [low, high]``; ``close outside [low, high]``;
5. ``negative volume``;
6. a time equal to (``duplicate timestamp``) or before (``out-of-order timestamp``) the last
   accepted row's time.

The tick grid is an explicit argument (ES 0.25; SPY and cash indexes 0.01; ``None`` disables it)
because guessing it from the prices would let a file of bad ES prints pass as a cent-tick file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
OHLCV_COLUMNS = (*PRICE_COLUMNS, "volume")
GRID_TOLERANCE = 1e-6  # in ticks: decimal prices like 126.35 are 12634.999999... cents


class BarFileError(ValueError):
    """A bar file that cannot be read, or a bad row when reading strictly."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One dropped file row: its 1-based line number in the file and why it was dropped."""

    line: int
    reason: str


def validate_bars(
    table: pd.DataFrame, lines: np.ndarray, *, tick_size: float | None = 0.25
) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """Drop bad rows from ``table`` (UTC DatetimeIndex, float OHLCV columns, file order).

    ``lines`` holds each row's file line number. Returns the kept rows (same columns) and the
    rejections sorted by line.
    """
    n = len(table)
    reason = np.full(n, None, dtype=object)

    def flag(mask: np.ndarray, text: str) -> None:
        hit = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        reason[hit] = text

    cols = {c: table[c].to_numpy(dtype=np.float64) for c in OHLCV_COLUMNS}
    for c in OHLCV_COLUMNS:
        flag(np.isnan(cols[c]), f"missing {c}")
    for c in PRICE_COLUMNS:
        flag(cols[c] <= 0, f"non-positive {c}")
    if tick_size:
        for c in PRICE_COLUMNS:
            ticks = cols[c] / tick_size
            flag(np.abs(ticks - np.round(ticks)) > GRID_TOLERANCE, f"{c} off tick grid {tick_size:g}")
    o, h, lo, cl = cols["open"], cols["high"], cols["low"], cols["close"]
    flag(h < lo, "high < low")
    flag((o < lo) | (o > h), "open outside [low, high]")
    flag((cl < lo) | (cl > h), "close outside [low, high]")
    flag(cols["volume"] < 0, "negative volume")

    # Time order against the last *accepted* row: rows dropped above do not move the clock.
    ts = table.index.asi8
    ok = reason == None  # noqa: E711
    floor = np.iinfo(np.int64).min
    running = np.maximum.accumulate(np.where(ok, ts, floor))
    prev = np.concatenate(([floor], running[:-1]))
    flag(ok & (ts == prev), "duplicate timestamp")
    flag(ok & (ts < prev), "out-of-order timestamp")

    bad = np.flatnonzero(reason != None)  # noqa: E711
    rejected = [RejectedRow(int(lines[i]), str(reason[i])) for i in bad]
    kept = table.iloc[np.flatnonzero(reason == None)]  # noqa: E711
    return kept, rejected
