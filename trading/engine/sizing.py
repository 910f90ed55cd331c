"""Position sizing: fixed-fractional risk, capped by the position limit, shrunk in high volatility.

contracts = floor(risk_fraction x equity / (stop distance in points x $ per point)), so a stopped-out
trade loses about ``risk_fraction`` (0.5 %) of the account whatever the volatility. Two adjustments:

* the cap: never more than ``max_position`` minus what is already held or working, so sizing can
  never be the reason the position limit is breached;
* volatility: when the volatility percentile (the ``volatility_regime`` feature, 0..1: how the
  current ATR ranks against the last day of bars) is high, the risk budget is scaled down, 0.75x at
  or above the 75th percentile and 0.5x at or above the 90th. The stop already widens with ATR; the
  extra cut is because fills and gaps get worse in fast markets, which the stop distance does not
  capture.

A result of 0 contracts means "no trade" with reason ``ZERO_SIZE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trading.engine.fills import POINT_VALUE

ZERO_SIZE = "ZERO_SIZE"
VOL_STEPS: tuple[tuple[float, float], ...] = ((0.90, 0.5), (0.75, 0.75))


@dataclass(frozen=True)
class SizeDecision:
    """Contracts to trade and, when zero, why."""

    qty: int
    reason: str | None = None
    vol_scale: float = 1.0


def vol_scale(atr_percentile: float | None, steps: tuple[tuple[float, float], ...] = VOL_STEPS) -> float:
    """Risk multiplier for an ATR percentile (None or NaN: no adjustment)."""
    if atr_percentile is None or math.isnan(atr_percentile):
        return 1.0
    for threshold, scale in steps:
        if atr_percentile >= threshold:
            return scale
    return 1.0


def contracts(equity: float, stop_points: float, *, risk_fraction: float = 0.005, point_value: float = POINT_VALUE,
              max_position: int = 2, current_exposure: int = 0, atr_percentile: float | None = None) -> SizeDecision:
    """How many contracts to trade for a stop ``stop_points`` away (see module docstring)."""
    if not stop_points > 0 or not equity > 0:
        return SizeDecision(0, ZERO_SIZE)
    scale = vol_scale(atr_percentile)
    raw = math.floor(risk_fraction * equity * scale / (stop_points * point_value) + 1e-9)
    room = max(0, max_position - abs(current_exposure))
    qty = max(0, min(raw, room))
    return SizeDecision(qty, None if qty > 0 else ZERO_SIZE, scale)
