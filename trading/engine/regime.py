"""Market regime: trend, range, volatile or transition.

Method (checked in this order, thresholds in ``RegimeConfig``):

1. ``volatile`` when the volatility percentile (``volatility_regime`` feature: the current ATR's
   rank among the last 390 bars) is >= 0.90. Extreme volatility breaks both trend-following and
   fading: stops get run either way, so it gets its own regime.
2. ``trend`` when Kaufman's efficiency ratio over 20 bars, ``|c_t - c_{t-20}| / sum |dc|``, is
   >= 0.35: price has travelled at least a third of the path it walked.
3. ``range`` when the efficiency ratio is <= 0.20: price walked a lot and went nowhere.
4. ``transition`` in between, or before 20 bars of history.

The efficiency ratio was picked over ADX because it is one running sum and one lag (O(1) per bar,
identical in batch and incremental) and has a fixed [0, 1] scale that needs no per-market tuning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trading.engine.features.core import EFFICIENCY_N

TREND, RANGE, VOLATILE, TRANSITION = "trend", "range", "volatile", "transition"
REGIMES = (TREND, RANGE, VOLATILE, TRANSITION)


@dataclass(frozen=True)
class RegimeConfig:
    """Thresholds of the regime classifier (see module docstring)."""

    volatile_pct: float = 0.90
    trend_er: float = 0.35
    range_er: float = 0.20
    min_bars: int = EFFICIENCY_N

    def __post_init__(self) -> None:
        if not 0.0 <= self.range_er < self.trend_er <= 1.0:
            raise ValueError(
                f"regime thresholds must satisfy 0 <= range_er < trend_er <= 1; "
                f"got range_er={self.range_er}, trend_er={self.trend_er}"
            )
        if not 0.0 < self.volatile_pct <= 1.0:
            raise ValueError(f"volatile_pct must be in (0, 1]; got {self.volatile_pct}")


def classify(
    efficiency_ratio: float, vol_pct: float, bars_seen: int = EFFICIENCY_N, config: RegimeConfig | None = None
) -> str:
    """Regime of one bar from its efficiency ratio, volatility percentile and bar count."""
    cfg = config or _DEFAULT
    if vol_pct >= cfg.volatile_pct:
        return VOLATILE
    if bars_seen < cfg.min_bars:
        return TRANSITION
    if efficiency_ratio >= cfg.trend_er:
        return TREND
    if efficiency_ratio <= cfg.range_er:
        return RANGE
    return TRANSITION


def classify_frame(
    efficiency_ratio: np.ndarray, vol_pct: np.ndarray, config: RegimeConfig | None = None
) -> np.ndarray:
    """Vectorized ``classify``; row i has seen i + 1 bars."""
    cfg = config or _DEFAULT
    er = np.asarray(efficiency_ratio, dtype=np.float64)
    vp = np.asarray(vol_pct, dtype=np.float64)
    seen = np.arange(1, len(er) + 1)
    out = np.select(
        [vp >= cfg.volatile_pct, seen < cfg.min_bars, er >= cfg.trend_er, er <= cfg.range_er],
        [VOLATILE, TRANSITION, TREND, RANGE],
        default=TRANSITION,
    )
    return out.astype(object)


_DEFAULT = RegimeConfig()
