"""The paper broker: sits in the gateway where Interactive Brokers would, fills against live quotes.

Pure Python (no Django): it keeps the working orders and executes them with the one fill model
shared with the backtester (`trading.engine.fills.fill_against_quote`). Exit legs of a bracket are
one-cancels-other: when one fills, its siblings in the same OCO group are cancelled, as IB's OCA
groups do. The gateway persists every acknowledgement and execution it returns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from trading.engine.fills import FillConfig, QuoteOrder, fill_against_quote
from trading.engine.ticks import Tick


@dataclass
class WorkingOrder:
    client_order_id: str
    side: int  # +1 buy, -1 sell
    qty: int
    kind: str  # "market" | "limit" | "stop" (trading.engine.fills constants)
    price: float | None = None
    oco_group: str = ""


@dataclass(frozen=True)
class Execution:
    exec_id: str
    client_order_id: str
    side: int
    qty: int
    price: float
    commission: float
    ts_ns: int


@dataclass
class PaperBroker:
    """Working orders and the net position, per instrument (one instrument per gateway)."""

    fill_config: FillConfig = field(default_factory=FillConfig)
    session: str = "paper"
    working: dict[str, WorkingOrder] = field(default_factory=dict)
    position: int = 0
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def submit(self, order: WorkingOrder) -> bool:
        """Accept an order; a client_order_id already working is not accepted twice."""
        if order.client_order_id in self.working:
            return False
        if order.qty <= 0:
            raise ValueError("order quantity must be positive")
        self.working[order.client_order_id] = order
        return True

    def cancel(self, client_order_id: str) -> bool:
        return self.working.pop(client_order_id, None) is not None

    def cancel_all(self) -> list[str]:
        cancelled = list(self.working)
        self.working.clear()
        return cancelled

    def modify(self, client_order_id: str, price: float) -> bool:
        order = self.working.get(client_order_id)
        if order is None:
            return False
        order.price = price
        return True

    def on_tick(self, tick: Tick) -> tuple[list[Execution], list[str]]:
        """Execute what the quote allows; returns executions and the OCO siblings they cancelled."""
        if not self.working or tick.bid is None or tick.ask is None:
            return [], []
        executions: list[Execution] = []
        cancelled: list[str] = []
        for coid in list(self.working):
            order = self.working.get(coid)
            if order is None:  # cancelled as an OCO sibling earlier in this loop
                continue
            fill = fill_against_quote(QuoteOrder(side=order.side, qty=order.qty, kind=order.kind, price=order.price),
                                      tick.bid, tick.ask, tick.price, self.fill_config)
            if fill is None:
                continue
            del self.working[coid]
            self.position += fill.side * fill.qty
            executions.append(Execution(exec_id=f"{self.session}-{tick.ts_ns}-{next(self._seq)}",
                                        client_order_id=coid, side=fill.side, qty=fill.qty, price=fill.price,
                                        commission=fill.commission, ts_ns=tick.ts_ns))
            if order.oco_group:
                for other in [c for c, o in self.working.items() if o.oco_group == order.oco_group]:
                    del self.working[other]
                    cancelled.append(other)
        return executions, cancelled
