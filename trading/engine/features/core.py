"""Shared inputs of the features: prices, ATR, sessions, delta, computed once per frame.

Every array here at row t uses rows <= t only. Recursions are the ones the incremental engine
(``trading.engine.incremental``) runs bar by bar with the same float operations:

* EMA: pandas ``ewm(alpha=a, adjust=False)``, i.e. ``y_t = (1 - a) * y_{t-1} + a * x_t``, ``y_0 = x_0``.
* Running sums: ``np.cumsum`` (sequential), and windowed or per-session sums as differences of
  the running sum, which the engine reproduces by keeping the same running sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trading.engine import sessions
from trading.engine.orderflow import bar_delta

# Parameters shared by batch and incremental code (changing one changes both).
ATR_N = 14
VWAP_SLOPE_ALPHA = 2.0 / 11.0
IMBALANCE_ALPHA = 2.0 / 21.0
RSI_ALPHA = 1.0 / 14.0
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 2.0 / 13.0, 2.0 / 27.0, 2.0 / 10.0
TICK_ALPHA = 2.0 / 11.0
TICK_LAG = 5
DIVERGENCE_N = 20
EFFICIENCY_N = 20
VOL_WINDOW = 390  # one RTH day of minutes
VOL_QUANT = 50.0  # log-ATR quantum: 1/50 = 2 % steps, so batch and incremental ranks tie alike
SLOT_MINUTES = 30
ATR_FLOOR = 1e-5  # ATR floor as a fraction of price, so a flat tape never divides by zero


def ema(x: np.ndarray, alpha: float) -> np.ndarray:
    """``y_t = (1 - alpha) * y_{t-1} + alpha * x_t`` with ``y_0 = x_0`` (pandas adjust=False)."""
    return pd.Series(x, copy=False).ewm(alpha=alpha, adjust=False).mean().to_numpy()


def lagged(x: np.ndarray, k: int, first: float | None = None) -> np.ndarray:
    """``x[t - k]``; rows before the start get ``first`` (``x[0]`` when None)."""
    out = np.empty_like(x)
    out[k:] = x[:-k] if k else x
    out[:k] = x[0] if first is None else first
    return out


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """``max(h, c_{t-1}) - min(l, c_{t-1})``; ``h - l`` on the first bar."""
    prev = lagged(close, 1)
    tr = np.maximum(high, prev) - np.minimum(low, prev)
    if len(tr):
        tr[0] = high[0] - low[0]
    return tr


def atr(bars: pd.DataFrame, n: int = ATR_N) -> pd.Series:
    """Wilder ATR: EMA of true range with alpha = 1/n, seeded with the first bar's range.

    Wilder's original seeds with the mean of the first n ranges; seeding with the first range
    keeps the recursion identical from bar 0, which the incremental engine needs, and the two
    agree after a few n bars.
    """
    h, lo, c = (bars[k].to_numpy(np.float64) for k in ("high", "low", "close"))
    return pd.Series(ema(true_range(h, lo, c), 1.0 / n), index=bars.index, name="atr")


def starts_of(keys: np.ndarray) -> np.ndarray:
    """Boolean mask of rows where ``keys`` changes (row 0 included)."""
    m = np.ones(len(keys), dtype=bool)
    m[1:] = keys[1:] != keys[:-1]
    return m


def first_of_group(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each row, ``values`` at the first row of its contiguous group."""
    return values[np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))]


def group_sum(cum: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per-group running sum from a global running sum ``cum``: ``cum_t - cum_{start - 1}``."""
    base = np.concatenate(([0.0], cum[:-1]))
    return cum - first_of_group(base, starts)


@dataclass
class BarContext:
    """Arrays every feature reads; built once by ``build_context``."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    ret: np.ndarray  # close - previous close (0 on bar 0)
    atr: np.ndarray  # Wilder ATR
    atr_s: np.ndarray  # max(atr, ATR_FLOOR * close): safe divisor
    delta: np.ndarray  # signed volume, see orderflow.bar_delta
    session: np.ndarray  # Globex session id
    session_start: np.ndarray  # bool
    minute: np.ndarray  # CT minute of day
    segment: np.ndarray  # sessions.ASIA..BREAK
    tick_size: float
    cache: dict = field(default_factory=dict)  # intermediate results shared by several features


def build_context(bars: pd.DataFrame, tick_size: float = 0.25) -> BarContext:
    """Arrays for ``bars`` (a validated bar frame, UTC index, ascending)."""
    o, h, lo, c, v = (bars[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume"))
    ret = c - lagged(c, 1)
    a = ema(true_range(h, lo, c), 1.0 / ATR_N)
    local = sessions.local_ns(bars.index)
    sess = sessions.session_ids(local)
    minute = sessions.minute_of_day(local)
    return BarContext(
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=v,
        ret=ret,
        atr=a,
        atr_s=np.maximum(a, ATR_FLOOR * c),
        delta=bar_delta(bars),
        session=sess,
        session_start=starts_of(sess),
        minute=minute,
        segment=sessions.segments(minute),
        tick_size=tick_size,
    )


def squash(x: np.ndarray) -> np.ndarray:
    """Map a signed score to (0, 1): ``0.5 + 0.5 * tanh(x)``; 0 -> 0.5 neutral."""
    return 0.5 + 0.5 * np.tanh(x)
