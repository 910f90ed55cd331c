"""Working orders and how they execute: against every quote (live ticks) or against closed bars.

The paper broker in the gateway and the backtester both hold their orders here, so the two can only
disagree where their data does: a tick feed is matched quote by quote (``on_quote``, the fill model's
``fill_against_quote``); a bar feed or a bar backtest, which cannot know the order of prices inside
a bar, is matched bar by bar (``match_bar``) with the fill model's bar rules:

* market orders fill at the bar's open, slipped, clamped to the bar (``fills.market_fill``);
* a stop and a limit in one OCO group (a bracket's legs) go through ``fills.bracket_exit``: the stop
  first when the bar reaches both, unless the open already decides it;
* a lone stop or limit fills by ``fills.stop_fill`` / ``fills.limit_fill``.

Each order is matched at most once per bar, so a bracket placed after its entry filled at a bar's
open (the caller asks again) is matched against that same bar's range, as it would have been live.
Execution times on bars are the bar's start. Exit legs are one-cancels-other: when one fills, its
siblings are cancelled, as IB's OCA groups do.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from trading.engine import fills as fm
from trading.engine.fills import FillConfig, QuoteOrder, fill_against_quote
from trading.engine.ticks import Tick


@dataclass
class WorkingOrder:
    client_order_id: str
    side: int  # +1 buy, -1 sell
    qty: int
    kind: str  # fills.MARKET | fills.LIMIT | fills.STOP
    price: float | None = None
    oco_group: str = ""
    matched_bar: int | None = None  # start of the last bar this order was matched against


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
class Matcher:
    """Working orders of one instrument and the net position they produced."""

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
        kind = str(order.kind).upper()
        if kind not in (fm.MARKET, fm.LIMIT, fm.STOP):
            raise ValueError(f"unknown order kind {order.kind!r}")
        order.kind = kind
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

    # -- executions -----------------------------------------------------------------------------------
    def _execute(self, order: WorkingOrder, price: float, ts_ns: int, cancelled: list[str]) -> Execution:
        del self.working[order.client_order_id]
        self.position += order.side * order.qty
        if order.oco_group:
            for other in [c for c, o in self.working.items() if o.oco_group == order.oco_group]:
                del self.working[other]
                cancelled.append(other)
        return Execution(exec_id=f"{self.session}-{ts_ns}-{next(self._seq)}", client_order_id=order.client_order_id,
                         side=order.side, qty=order.qty, price=price,
                         commission=fm.commission(order.qty, self.fill_config), ts_ns=ts_ns)

    def on_quote(self, tick: Tick) -> tuple[list[Execution], list[str]]:
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
            if fill is not None:
                executions.append(self._execute(order, fill.price, tick.ts_ns, cancelled))
        return executions, cancelled

    def match_bar(self, start_ns: int, open_: float, high: float, low: float) -> tuple[list[Execution], list[str]]:
        """Match every order not yet matched on this bar (see module docstring)."""
        executions: list[Execution] = []
        cancelled: list[str] = []
        cfg = self.fill_config
        for coid in list(self.working):
            order = self.working.get(coid)
            if order is None or order.matched_bar == start_ns:
                continue
            order.matched_bar = start_ns
            if order.kind == fm.MARKET:
                price = fm.market_fill(order.side, open_, low, high, cfg)
                executions.append(self._execute(order, price, start_ns, cancelled))
                continue
            leg = self._bracket_pair(order)
            if leg is not None:
                stop, target = leg
                stop.matched_bar = target.matched_bar = start_ns
                hit = fm.bracket_exit(-stop.side, stop.price, target.price, open_, low, high, cfg)
                if hit is not None:
                    filled = stop if hit[0] == "stop" else target
                    executions.append(self._execute(filled, hit[1], start_ns, cancelled))
                continue
            if order.kind == fm.STOP:
                price = fm.stop_fill(order.side, order.price, open_, low, high, cfg)
            else:
                price = fm.limit_fill(order.side, order.price, open_, low, high, cfg)
            if price is not None:
                executions.append(self._execute(order, price, start_ns, cancelled))
        return executions, cancelled

    def _bracket_pair(self, order: WorkingOrder) -> tuple[WorkingOrder, WorkingOrder] | None:
        """(stop, target) when ``order`` is one leg of a two-leg OCO exit on the same side."""
        if not order.oco_group:
            return None
        group = [o for o in self.working.values() if o.oco_group == order.oco_group]
        if len(group) != 2 or group[0].side != group[1].side:
            return None
        kinds = {o.kind: o for o in group}
        if set(kinds) != {fm.STOP, fm.LIMIT}:
            return None
        return kinds[fm.STOP], kinds[fm.LIMIT]

    def fill_at(self, client_order_id: str, price: float, ts_ns: int) -> Execution:
        """Execute a working order at ``price`` now: the mark-out at the end of a replay or backtest."""
        order = self.working[client_order_id]
        return self._execute(order, price, ts_ns, [])
