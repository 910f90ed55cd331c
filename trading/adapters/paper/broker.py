"""The paper broker: sits in the gateway where Interactive Brokers would and fills with the shared model.

Pure Python (no Django): the working orders and their matching are ``trading.engine.matching``, the
same code the backtest runs. On a tick feed it matches against every quote; on a bar feed (a replayed
bar file), which carries no quotes, it matches each closed bar with the backtest's bar rules, so a
replay of a bar file trades exactly as the backtest of it. The gateway persists every
acknowledgement and execution it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from trading.engine.bars import ClosedBar
from trading.engine.calendar import to_ns
from trading.engine.matching import Execution, Matcher, WorkingOrder
from trading.engine.ticks import Tick

__all__ = ["Execution", "PaperBroker", "WorkingOrder"]
QUOTES, BARS = "quotes", "bars"


@dataclass
class PaperBroker(Matcher):
    """``matching``: ``quotes`` (live and tick feeds) or ``bars`` (bar feeds)."""

    matching: str = QUOTES

    def __post_init__(self) -> None:
        if self.matching not in (QUOTES, BARS):
            raise ValueError(f"matching must be {QUOTES!r} or {BARS!r}, got {self.matching!r}")

    def on_tick(self, tick: Tick) -> tuple[list[Execution], list[str]]:
        return self.on_quote(tick) if self.matching == QUOTES else ([], [])

    def on_bar(self, bar: ClosedBar) -> tuple[list[Execution], list[str]]:
        if self.matching != BARS:
            return [], []
        return self.match_bar(to_ns(bar.ts), bar.open, bar.high, bar.low)

    def mark_out(self, client_order_id: str, price: float, ts_ns: int) -> Execution:
        """Fill a working order at ``price`` now: the end of a replay, closed at its last close."""
        return self.fill_at(client_order_id, price, ts_ns)
