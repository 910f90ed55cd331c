"""The traded instrument: tick size, point value and commission, defined once (DESIGN §4).

Every price grid, P&L and commission in the engine, the paper broker, the book and the dashboard
comes from here, so no module carries ES's $50 a point as a literal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    """A futures contract: ``tick_size`` points a tick, ``point_value`` USD a point, commission per
    contract per side in USD (the default; the stored risk settings override it)."""

    symbol: str = "ES"
    tick_size: float = 0.25
    point_value: float = 50.0
    commission_per_side: float = 2.50
    exchange_tz: str = "America/Chicago"

    def __post_init__(self) -> None:
        if not self.tick_size > 0 or not self.point_value > 0:
            raise ValueError("tick_size and point_value must be > 0")
        if self.commission_per_side < 0:
            raise ValueError("commission_per_side must be >= 0")

    @property
    def tick_value(self) -> float:
        """USD per tick: $12.50 for ES."""
        return self.tick_size * self.point_value

    def on_grid(self, price: float) -> bool:
        steps = price / self.tick_size
        return math.isfinite(steps) and abs(steps - round(steps)) <= 1e-6

    def pnl(self, *, side: int, qty: int, entry: float, exit: float) -> float:
        """Gross USD of ``qty`` contracts held ``side`` (+1 long, -1 short) from ``entry`` to ``exit``."""
        return side * (exit - entry) * qty * self.point_value


ES = Instrument()
