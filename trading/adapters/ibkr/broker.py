"""The ``Broker`` protocol over IB: native brackets, modify and cancel, executions, rejections, a snapshot.

* Every order carries ``orderRef = client_order_id``; MIA matches IB's orders and executions by that
  reference (or IB's permId), never by IB's order id alone, which restarts lower after a gateway
  restart. Order ids are only a per-connection detail here.
* A bracket (``submit_bracket``) is IB's own: the parent, then the stop and the take-profit as its
  children (``parentId``), one OCA group, ``transmit`` false on all but the last, so IB holds the
  stop from the moment the entry can fill. Stops and targets are GTC and may trigger outside
  regular hours.
* Executions come from ``execDetails`` with their ``commissionReport`` (IB's commission; estimated
  after a short wait if the report does not come), once per ``execId``.
* IB's errors on an order: a rejection (201 and the other order-refusal codes) marks the order
  rejected with IB's text; warnings are logged; anything this adapter cannot classify is reported
  as ``unclassified`` and the desk halts trading.
* While the link is down (socket closed or IB's 1100) every order-affecting call raises
  ``BrokerUnavailable``: the command stays in the outbox and is retried when the link is back.
* An order that went out while the link was dropping, and that IB never acknowledged, is sent again
  after the reconnection, unless IB's snapshot shows it arrived after all (by ``orderRef``): exactly
  one order either way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from trading.adapters.base import BrokerUnavailable, Execution, Rejection, WorkingOrder
from trading.adapters.ibkr.connection import IbSession
from trading.engine import fills as fm
from trading.engine.fills import FillConfig

log = logging.getLogger(__name__)

# IB message codes on an order (https://interactivebrokers.github.io/tws-api/message_codes.html).
WARNINGS = frozenset({399, 404, 434, 492, 2109, 2148, 10167, 10349})
CANCELLED = 202
CANCEL_REFUSED = frozenset({161, 10147, 10148})
REJECTIONS = frozenset({103, 104, 105, 106, 107, 109, 110, 111, 113, 116, 117, 118, 119, 120, 121, 122, 123, 124,
                        125, 126, 129, 131, 132, 133, 134, 135, 136, 137, 140, 141, 146, 147, 148, 151, 152, 153,
                        154, 155, 156, 158, 159, 160, 163, 164, 166, 167, 168, 200, 201, 203, 312, 313, 314, 315,
                        325, 327, 328, 329, 335, 336, 337, 338, 339, 340, 341, 342, 343, 383, 387, 388, 389, 390,
                        391, 392, 393, 394, 395, 396, 397, 398, 400, 401, 402, 403, 405, 406, 407, 408, 409, 410,
                        411, 412, 413, 414, 415, 416, 417, 418, 419, 421, 422, 423, 424, 425, 426, 427, 428, 429,
                        430, 433, 435, 436, 437, 438, 439, 440, 441, 442, 443, 444, 445, 446, 447, 448, 449, 450,
                        451, 452, 453, 454, 455, 456, 457, 458, 459, 460, 461, 462, 463, 10006, 10007, 10008,
                        10009, 10010, 10011, 10012, 10013, 10014, 10015, 10016, 10017, 10018, 10019, 10020,
                        10021, 10022, 10023, 10024, 10025, 10026, 10027, 10318, 10319, 10320, 10321, 10322, 10323,
                        10324, 10325, 10326, 10327, 10328, 10329, 10330, 10331, 10332, 10333, 10334, 10335})
DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
ACKED = frozenset({"PreSubmitted", "Submitted", "Filled", "Cancelled", "ApiCancelled", "Inactive", "PendingCancel"})
COMMISSION_WAIT_S = 2.0


@dataclass
class IbOrder:
    """One MIA order at IB: what was asked, the client's live ``Trade``, and whether IB has seen it."""

    order: WorkingOrder
    trade: object | None = None
    acked: bool = False
    sent_at: float = 0.0
    group: str = ""  # the parent's client order id for bracket members
    reported: bool = False  # its cancellation was passed on to the desk


@dataclass
class AccountSnapshot:
    """What IB holds for the instrument after a (re)connection."""

    position: int
    open_orders: list[tuple[str, int, str, float]]  # (orderRef, permId, orderType, quantity)
    executions: list[Execution]
    foreign_executions: list[str] = field(default_factory=list)


class IbBroker:
    native_brackets = True
    reports_position = True

    def __init__(self, session: IbSession, contract_of, *, fill_config: FillConfig | None = None) -> None:
        """``contract_of()``: the client's contract for the active ES month (the feed resolves it)."""
        self.ib_session = session
        self.session = f"ibkr-{session.config.client_id}"
        self.contract_of = contract_of
        self.fill_config = fill_config or FillConfig()
        self.position = 0
        self.orders: dict[str, IbOrder] = {}
        self._by_order_id: dict[int, str] = {}
        self._seen_exec: set[str] = set()
        self._waiting: dict[str, tuple[object, float]] = {}  # execId -> (fill, first seen)
        self._cancelled: list[str] = []
        self._rejections: list[Rejection] = []
        self.unclassified: list[str] = []
        self.foreign: list[str] = []
        self._generation = session.generation
        session.error_listeners.append(self._on_error)

    # -- the protocol ---------------------------------------------------------------------------------
    @property
    def working(self) -> dict[str, WorkingOrder]:
        return {coid: o.order for coid, o in self.orders.items() if not self._done(o)}

    @property
    def connected(self) -> bool:
        return self.ib_session.socket_up and self.ib_session.state.connected

    def _require_link(self) -> None:
        if not self.connected:
            raise BrokerUnavailable(f"IB not connected ({self.ib_session.state.last_error or 'connecting'})")
        if self.contract_of() is None:
            raise BrokerUnavailable("the ES contract is not resolved yet")

    def submit(self, order: WorkingOrder) -> bool:
        self._require_link()
        if order.client_order_id in self.orders and not self._done(self.orders[order.client_order_id]):
            return False
        self._place(order, parent_id=0, transmit=True)
        return True

    def submit_bracket(self, parent: WorkingOrder, children: list[WorkingOrder]) -> bool:
        """Parent and children (stop, target) as one IB bracket; only the last transmits."""
        self._require_link()
        if parent.client_order_id in self.orders and not self._done(self.orders[parent.client_order_id]):
            return False
        parent_ib = self._place(parent, parent_id=0, transmit=False, group=parent.client_order_id)
        for index, child in enumerate(children):
            self._place(child, parent_id=parent_ib.trade.order.orderId, transmit=index == len(children) - 1,
                        group=parent.client_order_id)
        return True

    def cancel(self, client_order_id: str) -> bool:
        held = self.orders.get(client_order_id)
        if held is None or self._done(held):
            return False
        self._require_link()
        self.ib_session.ib.cancelOrder(held.trade.order)
        return True

    def modify(self, client_order_id: str, price: float | None = None, qty: int | None = None) -> bool:
        """A new stop or limit price and/or quantity for a working order (IB: the same order id again)."""
        held = self.orders.get(client_order_id)
        if held is None or self._done(held):
            return False
        self._require_link()
        order = held.trade.order
        if price is not None:
            if held.order.kind == fm.STOP:
                order.auxPrice = price
            else:
                order.lmtPrice = price
            held.order.price = price
        if qty is not None:
            order.totalQuantity = qty
            held.order.qty = qty
        order.transmit = True
        self.ib_session.ib.placeOrder(self.contract_of(), order)
        return True

    def cancel_instrument(self) -> int:
        """Cancel every working order IB holds on the instrument, MIA's or not (the flatten's first step)."""
        self._require_link()
        con_id = self.contract_of().conId
        count = 0
        for trade in self.ib_session.ib.openTrades():
            if trade.contract.conId == con_id and trade.orderStatus.status not in DONE:
                self.ib_session.ib.cancelOrder(trade.order)
                count += 1
        return count

    def on_tick(self, tick) -> tuple[list[Execution], list[str]]:
        return [], []  # IB matches, not MIA: its reports come from poll(), which the desk reads

    def on_bar(self, bar) -> tuple[list[Execution], list[str]]:
        return [], []  # IB reports executions as they happen (poll), never from bars

    # -- orders ---------------------------------------------------------------------------------------
    def _place(self, wo: WorkingOrder, *, parent_id: int, transmit: bool, group: str = "") -> IbOrder:
        lib = self.ib_session.lib
        action = "BUY" if wo.side > 0 else "SELL"
        if wo.kind == fm.MARKET:
            order = lib.MarketOrder(action, wo.qty)
        elif wo.kind == fm.LIMIT:
            order = lib.LimitOrder(action, wo.qty, wo.price)
        else:
            order = lib.StopOrder(action, wo.qty, wo.price)
        order.orderRef = wo.client_order_id
        order.account = self.ib_session.config.account
        order.transmit = transmit
        order.parentId = parent_id
        order.ocaGroup = wo.oco_group or ""
        if wo.oco_group:
            order.ocaType = 1  # cancel the others when one fills
        if wo.kind != fm.MARKET:
            order.tif = "GTC"
            order.outsideRth = True
        trade = self.ib_session.ib.placeOrder(self.contract_of(), order)
        held = IbOrder(order=wo, trade=trade, sent_at=time.time(), group=group)
        self.orders[wo.client_order_id] = held
        self._by_order_id[order.orderId] = wo.client_order_id
        return held

    def _done(self, held: IbOrder) -> bool:
        return held.trade is not None and held.trade.orderStatus.status in DONE

    # -- what IB reports ------------------------------------------------------------------------------
    def poll(self) -> tuple[list[Execution], list[str], list[Rejection]]:
        """Executions (with commissions), orders IB cancelled, orders IB rejected, since the last poll."""
        executions = self._collect_executions()
        rejected = {r.client_order_id for r in self._rejections}
        for coid, held in self.orders.items():
            status = held.trade.orderStatus.status if held.trade is not None else ""
            if status in ACKED:
                held.acked = True
            if status in ("Cancelled", "ApiCancelled", "Inactive") and coid not in rejected \
                    and coid not in self._cancelled and not getattr(held, "reported", False):
                held.reported = True
                self._cancelled.append(coid)
        cancelled, self._cancelled = self._cancelled, []
        rejections, self._rejections = self._rejections, []
        return executions, cancelled, rejections

    def _collect_executions(self, *, wait_s: float = COMMISSION_WAIT_S) -> list[Execution]:
        now = time.time()
        con = self.contract_of()
        for fill in self.ib_session.ib.fills():
            exec_id = fill.execution.execId
            if exec_id in self._seen_exec or exec_id in self._waiting:
                continue
            if con is not None and fill.contract.conId != con.conId:
                continue
            self._waiting[exec_id] = (fill, now)
        out = []
        for exec_id, (fill, seen) in list(self._waiting.items()):
            report = fill.commissionReport
            if not report.execId and now - seen < wait_s:
                continue  # IB sends the commission report just after the execution
            del self._waiting[exec_id]
            self._seen_exec.add(exec_id)
            execution = self._execution(fill)
            if execution is None:
                self.foreign.append(f"{fill.execution.side} {fill.execution.shares:g} @ {fill.execution.price:g} "
                                    f"(execId {exec_id}, orderRef {fill.execution.orderRef!r})")
                continue
            out.append(execution)
        return out

    def _execution(self, fill) -> Execution | None:
        ex = fill.execution
        coid = ex.orderRef or next((c for c, o in self.orders.items()
                                    if o.trade is not None and o.trade.order.permId == ex.permId), "")
        if not coid:
            return None
        side = 1 if ex.side in ("BOT", "BUY") else -1
        qty = int(round(ex.shares))
        report = fill.commissionReport
        commission = report.commission if report.execId and report.commission < 1e9 else \
            fm.commission(qty, self.fill_config)
        when = ex.time if isinstance(ex.time, datetime) else datetime.now()
        self.position += side * qty
        return Execution(exec_id=ex.execId, client_order_id=coid, side=side, qty=qty, price=float(ex.price),
                         commission=float(commission), ts_ns=int(when.timestamp() * 1e9))

    def _on_error(self, req_id: int, code: int, text: str) -> None:
        coid = self._by_order_id.get(req_id)
        if coid is None:
            return
        if code in WARNINGS or 2100 <= code < 2200 or code == CANCELLED:
            log.info("IB %d on order %s: %s", code, coid, text)
        elif code in CANCEL_REFUSED:
            log.warning("IB refused to cancel %s (%d: %s); its status says what happened", coid, code, text)
        elif code in REJECTIONS:
            log.error("IB rejected order %s: %d %s", coid, code, text)
            self._rejections.append(Rejection(coid, code, text))
        else:
            log.error("IB error %d on order %s that MIA cannot classify: %s", code, coid, text)
            self.unclassified.append(f"IB error {code} on order {coid}: {text}")

    # -- reconnection ---------------------------------------------------------------------------------
    @property
    def reconcile_due(self) -> bool:
        return self.connected and self.contract_of() is not None and self.ib_session.generation != self._generation

    def snapshot(self) -> AccountSnapshot:
        """Positions, every open order (all clients) and the executions IB has, for the reconciliation;
        MIA's orders are matched to IB's again by ``orderRef`` (the client's order ids start over)."""
        self._require_link()
        ib = self.ib_session.ib
        self._generation = self.ib_session.generation
        con_id = self.contract_of().conId
        self._by_order_id.clear()
        open_orders = []
        for trade in ib.reqAllOpenOrders():
            if trade.contract.conId != con_id or trade.orderStatus.status in DONE:
                continue
            ref = trade.order.orderRef
            open_orders.append((ref, trade.order.permId, trade.order.orderType, float(trade.order.totalQuantity)))
            held = self.orders.get(ref)
            if held is not None:
                held.trade, held.acked = trade, True
                if trade.order.clientId == self.ib_session.client_id:
                    self._by_order_id[trade.order.orderId] = ref
        ib.reqExecutions()
        executions = self._collect_executions(wait_s=0.0)
        position = sum(int(p.position) for p in ib.positions(self.ib_session.config.account)
                       if p.contract.conId == con_id)
        self.position = position
        foreign, self.foreign = self.foreign, []
        return AccountSnapshot(position=position, open_orders=open_orders, executions=executions,
                               foreign_executions=foreign)

    def unacknowledged(self, present: set[str]) -> list[tuple[str, list[str]]]:
        """Orders sent but never acknowledged by IB and not in its snapshot, grouped by bracket:
        (parent or order, [children]); forgotten here so the desk can send them again."""
        lost = [coid for coid, held in self.orders.items() if not held.acked and coid not in present
                and not any(f.execution.orderRef == coid for f in self.ib_session.ib.fills())]
        groups: dict[str, list[str]] = {}
        for coid in lost:
            held = self.orders.pop(coid)
            head = held.group or coid
            groups.setdefault(head, [])
            if coid != head:
                groups[head].append(coid)
        return list(groups.items())

    def forget(self, client_order_id: str) -> None:
        self.orders.pop(client_order_id, None)

    def status(self) -> dict:
        return {**self.ib_session.status(), "position": self.position,
                "working": sorted(self.working)}
