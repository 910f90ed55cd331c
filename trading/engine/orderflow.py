"""Aggressor classification and signed volume (delta), for ticks and for bars.

* Tick rule (trades only): a trade above the previous different price is a buy, below a sell; an
  unchanged price keeps the previous side (Lee & Ready's tick test). Used when no quote exists.
* Quote rule: a trade above the mid of the prevailing bid/ask is a buy, below a sell; at the mid
  falls back to the tick rule. Quotes beat ticks when present because they see the book.
* Bar delta estimate, when a bar has no buy/sell volume: ``f = dir`` for a zero-range bar, else
  ``f = 0.5 * CLV + 0.5 * dir`` with close-location value ``CLV = ((c - l) - (h - c)) / (h - l)`` and
  ``dir`` the quote rule on the bar close against the bar's closing mid (tick rule on closes when
  there is no quote); delta = ``f * volume``, so |delta| <= volume. With buy/sell volume the delta
  is ``clip(buy - sell, -volume, volume)``.
* ``read_mbo_trade_bars``: Databento MBO (``.dbn.zst``) trades (action 'T', side = aggressor:
  'B' buy, 'A' sell) into 1-minute bars with buy_volume/sell_volume.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

BUY, SELL, UNKNOWN = 1, -1, 0


def tick_rule(prices: np.ndarray) -> np.ndarray:
    """Aggressor side (+1/-1/0) of each trade from price changes alone; 0 until the first change."""
    p = np.asarray(prices, dtype=np.float64)
    step = np.sign(np.diff(p, prepend=p[:1] if len(p) else p))
    return _carry(step)


def quote_rule(prices: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Side from the trade price against the quote mid; tick rule where the quote is missing or at mid."""
    p = np.asarray(prices, dtype=np.float64)
    b = np.asarray(bid, dtype=np.float64)
    a = np.asarray(ask, dtype=np.float64)
    valid = np.isfinite(b) & np.isfinite(a) & (a >= b)
    q = np.where(valid, np.sign(p - (b + a) / 2.0), 0.0)
    return np.where(q != 0, q, tick_rule(p))


def _carry(step: np.ndarray) -> np.ndarray:
    """Forward-fill the last non-zero sign (0 before any)."""
    s = pd.Series(np.where(step != 0, step, np.nan)).ffill().fillna(0.0)
    return s.to_numpy(np.float64)


def bar_delta(bars: pd.DataFrame) -> np.ndarray:
    """Signed volume per bar (see module docstring), vectorized."""
    o = bars
    h, lo, c, v = (o[k].to_numpy(np.float64) for k in ("high", "low", "close", "volume"))
    if "buy_volume" in o and "sell_volume" in o:
        buy, sell = o["buy_volume"].to_numpy(np.float64), o["sell_volume"].to_numpy(np.float64)
        known = np.isfinite(buy) & np.isfinite(sell) & (buy + sell > 0)
    else:
        buy = sell = np.zeros(len(o))
        known = np.zeros(len(o), dtype=bool)
    if "bid" in o and "ask" in o:
        side = quote_rule(c, o["bid"].to_numpy(np.float64), o["ask"].to_numpy(np.float64))
    else:
        side = tick_rule(c)
    rng = h - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        clv = np.where(rng > 0, ((c - lo) - (h - c)) / np.where(rng > 0, rng, 1.0), 0.0)
    f = np.where(rng > 0, 0.5 * clv + 0.5 * side, side)
    est = f * v
    return np.where(known, np.clip(buy - sell, -v, v), est)


class BarDeltaState:
    """``bar_delta`` one bar at a time (same arithmetic, so the same floats)."""

    __slots__ = ("_last_close", "_tick_side")

    def __init__(self) -> None:
        self._last_close = math.nan
        self._tick_side = 0.0

    def update(
        self,
        high: float,
        low: float,
        close: float,
        volume: float,
        bid: float | None,
        ask: float | None,
        buy: float | None,
        sell: float | None,
    ) -> float:
        """Delta of this bar (missing bid/ask/buy/sell: None or NaN)."""
        if self._last_close == self._last_close:  # not NaN
            d = close - self._last_close
            if d > 0:
                self._tick_side = 1.0
            elif d < 0:
                self._tick_side = -1.0
        self._last_close = close
        side = self._tick_side
        if bid is not None and ask is not None and bid == bid and ask == ask and ask >= bid:
            q = close - (bid + ask) / 2.0
            if q > 0:
                side = 1.0
            elif q < 0:
                side = -1.0
        if buy is not None and sell is not None and buy == buy and sell == sell and buy + sell > 0:
            return min(max(buy - sell, -volume), volume)
        rng = high - low
        if rng > 0:
            clv = ((close - low) - (high - close)) / rng
            return (0.5 * clv + 0.5 * side) * volume
        return side * volume


def read_mbo_trade_bars(path: str | Path, *, interval: str = "1min") -> pd.DataFrame:
    """Aggregate Databento MBO trades into bars (bar start, UTC) with buy/sell volume.

    Trades are records with action 'T'; their side is the aggressor ('B' buy, 'A' sell, 'N'
    unknown: counted in volume only). Prices are fixed-point 1e-9. Needs ``databento-dbn``.
    """
    import databento_dbn  # lazy: only this reader needs it

    decoder = databento_dbn.DBNDecoder()
    decoder.write(_unzstd(path) if str(path).endswith(".zst") else Path(path).read_bytes())
    ts, px, qty, side = [], [], [], []
    for rec in decoder.decode():
        if not isinstance(rec, databento_dbn.MBOMsg):
            continue
        if str(getattr(rec.action, "value", rec.action)) != "T":
            continue
        ts.append(rec.ts_event)
        px.append(rec.price / 1e9)
        qty.append(rec.size)
        s = str(getattr(rec.side, "value", rec.side))
        side.append(BUY if s == "B" else SELL if s == "A" else UNKNOWN)
    trades = pd.DataFrame(
        {"price": px, "size": np.asarray(qty, dtype=np.float64), "side": side},
        index=pd.DatetimeIndex(np.asarray(ts, dtype="datetime64[ns]"), tz="UTC"),
    )
    trades = trades.sort_index(kind="stable")
    trades["buy"] = np.where(trades["side"] == BUY, trades["size"], 0.0)
    trades["sell"] = np.where(trades["side"] == SELL, trades["size"], 0.0)
    g = trades.groupby(trades.index.floor(interval))
    bars = pd.DataFrame(
        {
            "open": g["price"].first(),
            "high": g["price"].max(),
            "low": g["price"].min(),
            "close": g["price"].last(),
            "volume": g["size"].sum(),
            "buy_volume": g["buy"].sum(),
            "sell_volume": g["sell"].sum(),
        }
    )
    bars.index.name = "ts"
    return bars


def _unzstd(path: str | Path) -> bytes:
    """DBNDecoder takes raw DBN; pyarrow (already a dependency) brings a zstd stream reader."""
    import pyarrow as pa

    with pa.CompressedInputStream(pa.OSFile(str(path)), "zstd") as fh:
        return fh.read()
