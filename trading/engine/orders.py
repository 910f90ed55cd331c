"""Orders: the order state machine and the bracket (entry + OCO stop/target) with its exit rules.

The state machine is strict because the broker adapters, the paper broker and the backtest all
report through it: an impossible transition (a fill on a cancelled order, say) is a bug in one of
them and must fail loudly rather than corrupt a position.

Bracket rules (DESIGN section 4): stop = 2 x ATR from the entry, target = 2 R (R = the initial stop
distance), stop moved to break-even once price has gone 1 R in favour, then trailed
``trail_atr_mult`` x ATR behind the best price (it only ever tightens). A bracket also exits on a
signal reversal and after ``max_bars`` bars in the trade; both are market exits at the next price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from trading.engine.fills import LIMIT, MARKET, STOP, TICK_SIZE


class OrderStatus(StrEnum):
    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.SUBMITTED, S.CANCELLED, S.REJECTED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED, S.PARTIALLY_FILLED, S.FILLED}),
    # A venue that answers asynchronously (IB) may still refuse an order the adapter handed over.
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}
TERMINAL = frozenset({S.FILLED, S.CANCELLED, S.REJECTED})


class InvalidTransition(Exception):
    """An order was asked to move to a state it cannot reach from where it is."""


@dataclass
class Order:
    """One order and its lifecycle; ``side`` is +1 buy / -1 sell."""

    side: int
    qty: int
    kind: str = MARKET
    price: float | None = None
    client_order_id: str = ""
    status: OrderStatus = OrderStatus.NEW
    filled_qty: int = 0
    avg_fill_price: float = 0.0
    history: list[OrderStatus] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.side not in (1, -1):
            raise ValueError(f"order side must be +1 or -1, got {self.side!r}")
        if self.qty <= 0:
            raise ValueError(f"order qty must be positive, got {self.qty!r}")
        if self.kind not in (MARKET, LIMIT, STOP):
            raise ValueError(f"unknown order kind {self.kind!r}")
        if self.kind != MARKET and self.price is None:
            raise ValueError(f"{self.kind} order needs a price")

    @property
    def working(self) -> bool:
        return self.status not in TERMINAL

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    def transition(self, new: OrderStatus) -> None:
        """Move to ``new`` or raise ``InvalidTransition``."""
        if new not in TRANSITIONS[self.status]:
            raise InvalidTransition(f"order {self.client_order_id or id(self)}: {self.status} -> {new} not allowed")
        self.history.append(self.status)
        self.status = new

    def submit(self) -> None:
        self.transition(S.SUBMITTED)

    def accept(self) -> None:
        self.transition(S.ACCEPTED)

    def reject(self) -> None:
        self.transition(S.REJECTED)

    def cancel(self) -> None:
        self.transition(S.CANCELLED)

    def fill(self, qty: int, price: float) -> None:
        """Apply an execution of ``qty`` at ``price``; partial fills average the price."""
        if qty <= 0 or qty > self.remaining:
            raise InvalidTransition(f"fill of {qty} on an order with {self.remaining} remaining")
        new = S.FILLED if qty == self.remaining else S.PARTIALLY_FILLED
        self.transition(new)
        total = self.filled_qty + qty
        self.avg_fill_price = (self.avg_fill_price * self.filled_qty + price * qty) / total
        self.filled_qty = total


@dataclass(frozen=True)
class BracketPolicy:
    """Stop/target geometry and the management rules of a bracket."""

    stop_atr_mult: float = 2.0
    target_r: float = 2.0
    breakeven_r: float = 1.0
    trail_atr_mult: float = 2.0
    max_bars: int = 120
    tick_size: float = TICK_SIZE

    def __post_init__(self) -> None:
        for name in ("stop_atr_mult", "target_r", "breakeven_r", "trail_atr_mult", "tick_size"):
            if not getattr(self, name) > 0:
                raise ValueError(f"BracketPolicy.{name} must be > 0")
        if self.max_bars < 1:
            raise ValueError("BracketPolicy.max_bars must be >= 1")


def _round_away(price: float, tick: float, side: int) -> float:
    """Round a stop to the tick grid, away from the entry (never a tighter stop than asked for)."""
    q = price / tick
    return (math.floor(q + 1e-9) if side == 1 else math.ceil(q - 1e-9)) * tick


@dataclass
class Bracket:
    """An open position's OCO exit legs: a protective stop and a target limit, managed bar by bar."""

    side: int
    qty: int
    entry_price: float
    stop: float
    target: float
    risk_points: float
    policy: BracketPolicy
    best_price: float
    bars_held: int = 0
    breakeven_done: bool = False
    stop_order: Order | None = None
    target_order: Order | None = None

    @classmethod
    def open(cls, side: int, qty: int, entry_price: float, atr_value: float, policy: BracketPolicy) -> Bracket:
        """Build the bracket for a filled entry; stop 2 ATR away, target 2 R away, both on the tick grid."""
        if not atr_value > 0:
            raise ValueError(f"ATR must be > 0 to place a stop, got {atr_value!r}")
        tick = policy.tick_size
        stop = _round_away(entry_price - side * policy.stop_atr_mult * atr_value, tick, side)
        if stop == entry_price:
            stop = entry_price - side * tick
        risk = abs(entry_price - stop)
        target = _round_away(entry_price + side * policy.target_r * risk, tick, -side)
        b = cls(side=side, qty=qty, entry_price=entry_price, stop=stop, target=target, risk_points=risk,
                policy=policy, best_price=entry_price)
        b.stop_order = Order(side=-side, qty=qty, kind=STOP, price=stop)
        b.target_order = Order(side=-side, qty=qty, kind=LIMIT, price=target)
        for o in (b.stop_order, b.target_order):
            o.submit()
            o.accept()
        return b

    def on_exit_fill(self, leg: str, price: float) -> None:
        """One leg filled: fill it and cancel its sibling (one-cancels-other)."""
        filled, other = (self.stop_order, self.target_order) if leg == "stop" else (self.target_order, self.stop_order)
        if filled is None or other is None:
            raise InvalidTransition("bracket has no working legs")
        filled.fill(filled.remaining, price)
        if other.working:
            other.cancel()

    def cancel(self) -> None:
        """Cancel both legs (the position is being closed by a market order instead)."""
        for o in (self.stop_order, self.target_order):
            if o is not None and o.working:
                o.cancel()

    def on_bar_close(self, high: float, low: float, atr_value: float) -> None:
        """After a bar: count it, move the stop to break-even after 1 R, then trail it (only tighter)."""
        self.bars_held += 1
        side, p = self.side, self.policy
        best = max(self.best_price, high) if side == 1 else min(self.best_price, low)
        self.best_price = best
        if not self.breakeven_done and (best - self.entry_price) * side >= p.breakeven_r * self.risk_points:
            self.breakeven_done = True
            self._tighten(self.entry_price)
        if self.breakeven_done and atr_value > 0:
            self._tighten(_round_away(best - side * p.trail_atr_mult * atr_value, p.tick_size, side))

    def _tighten(self, new_stop: float) -> None:
        if (new_stop - self.stop) * self.side > 0:
            self.stop = new_stop
            if self.stop_order is not None:
                self.stop_order.price = new_stop

    def time_exit_due(self) -> bool:
        return self.bars_held >= self.policy.max_bars

    def reversal_exit_due(self, direction: int) -> bool:
        """A signal in the opposite direction closes the trade."""
        return direction == -self.side
