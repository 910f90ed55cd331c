"""Build time bars from validated ticks.

A bar closes when the first tick of a later bar arrives, or when the clock passes its end
(`flush`), so a quiet market still closes its last bar on time. Minutes with no trade make no bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from trading.engine.ticks import BUY, NS_PER_S, SELL, UNKNOWN, Tick, classify_side


@dataclass(slots=True)
class ClosedBar:
    symbol: str
    ts: datetime  # bar start, UTC
    open: float
    high: float
    low: float
    close: float
    volume: float
    buy_volume: float
    sell_volume: float
    bid: float | None
    ask: float | None
    tick_count: int
    interval_s: int = 60

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.ts.timestamp() + self.interval_s, tz=UTC)


class BarBuilder:
    """Aggregates ticks into bars of `interval_s` seconds (1 minute by default)."""

    def __init__(self, symbol: str, *, interval_s: int = 60) -> None:
        self.symbol = symbol
        self.interval_s = interval_s
        self.interval_ns = interval_s * NS_PER_S
        self._bucket = -1
        self._open = self._high = self._low = self._close = 0.0
        self._volume = self._buy = self._sell = 0.0
        self._bid: float | None = None
        self._ask: float | None = None
        self._count = 0
        self._last_price = 0.0
        self._last_side = UNKNOWN

    def add(self, tick: Tick) -> ClosedBar | None:
        """Add a validated tick; returns the bar it closed, if any."""
        bucket = tick.ts_ns // self.interval_ns
        closed = None
        price = tick.price
        if bucket != self._bucket:
            closed = self._close_current()
            self._bucket = bucket
            self._open = self._high = self._low = price
            self._volume = self._buy = self._sell = 0.0
            self._bid = self._ask = None  # a bar's quote is the last one seen inside it
            self._count = 0
        elif price > self._high:
            self._high = price
        elif price < self._low:
            self._low = price
        side = classify_side(tick, self._last_price, self._last_side)
        size = tick.size
        self._volume += size
        if side == BUY:
            self._buy += size
        elif side == SELL:
            self._sell += size
        self._close = price
        if tick.bid is not None:
            self._bid = tick.bid
        if tick.ask is not None:
            self._ask = tick.ask
        self._count += 1
        self._last_price = price
        self._last_side = side
        return closed

    def flush(self, now_ns: int) -> ClosedBar | None:
        """Close the current bar if `now_ns` is past its end."""
        if self._count and now_ns >= (self._bucket + 1) * self.interval_ns:
            bar = self._close_current()
            self._bucket = -1
            return bar
        return None

    def _close_current(self) -> ClosedBar | None:
        if not self._count:
            return None
        bar = ClosedBar(
            symbol=self.symbol,
            ts=datetime.fromtimestamp(self._bucket * self.interval_ns / NS_PER_S, tz=UTC),
            open=self._open, high=self._high, low=self._low, close=self._close, volume=self._volume,
            buy_volume=self._buy, sell_volume=self._sell, bid=self._bid, ask=self._ask, tick_count=self._count,
            interval_s=self.interval_s)
        self._count = 0
        return bar


def bar_interval_ns(ts_ns: np.ndarray, default_ns: int = 60 * NS_PER_S) -> int:
    """The bar length of a series of bar starts: the median gap (gaps across closes are rare and long)."""
    diffs = np.diff(np.asarray(ts_ns, dtype=np.int64))
    return max(int(np.median(diffs)), 1) if len(diffs) else default_ns


# Reasons a bar from a bar feed is refused (stored with the quarantined prints, prefixed "bar_").
BAR_NOT_FINITE, BAR_NON_POSITIVE, BAR_INCONSISTENT, BAR_OUT_OF_ORDER = (
    "bar_not_finite", "bar_non_positive", "bar_inconsistent", "bar_out_of_order")


class BarValidator:
    """Checks a feed's closed bars as ``TickValidator`` checks prints: finite, positive prices, a high and
    a low that contain the open and the close, and strictly increasing start times."""

    def __init__(self) -> None:
        self.last_ts: datetime | None = None

    def check(self, bar: ClosedBar) -> str | None:
        prices = (bar.open, bar.high, bar.low, bar.close)
        if not all(math.isfinite(p) for p in prices) or not math.isfinite(bar.volume):
            return BAR_NOT_FINITE
        if min(prices) <= 0 or bar.volume < 0:
            return BAR_NON_POSITIVE
        if bar.high < max(bar.open, bar.close) or bar.low > min(bar.open, bar.close):
            return BAR_INCONSISTENT
        if self.last_ts is not None and bar.ts <= self.last_ts:
            return BAR_OUT_OF_ORDER
        self.last_ts = bar.ts
        return None
