"""Reconciliation with a venue that holds orders itself (IB), run by the desk after every (re)connection.

The executions MIA missed are recorded once; orders sent but never acknowledged (the link dropped
under them) are sent again, or rejected when they are entries too old to go; then IB's open orders
and position are compared with MIA's. An order IB holds that MIA does not know, a position that
differs, or a position without a working stop at the broker halts trading with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from django.db import transaction

from trading.engine.calendar import to_ns
from trading.live.order_rows import ENTRY_MAX_AGE_NS, Role, move, working_order
from trading.models import Order

log = logging.getLogger(__name__)


class Desk(Protocol):
    """What of the desk (``trading.live.desk``, which calls in here) the reconciliation uses."""

    broker: Any
    book: Any
    symbol: str
    now_ns: Callable[[], int]

    def _settle(self, executions: list, cancelled: list[str]) -> list[int]: ...

    def _push(self, order: Order) -> None: ...

    def _halt(self, reason: str) -> None: ...


def reconcile(desk: Desk) -> list[str]:
    """After a (re)connection: the executions MIA missed are recorded once; orders sent but never
    acknowledged are sent again (or rejected when they are entries too old to go); then IB's open
    orders and position are compared with MIA's. An order IB holds that MIA does not know, a
    position that differs, or a position without a working stop at the broker halts trading."""
    snapshot = desk.broker.snapshot()
    fill_ids = desk._settle(snapshot.executions, [])
    present = {ref for ref, *_ in snapshot.open_orders}
    resent = _resend_unacknowledged(desk, present)
    problems = [f"IB reported an execution MIA did not place: {text}" for text in snapshot.foreign_executions]
    working = {o.client_order_id: o for o in Order.objects.select_related("intent").filter(
        state__in=Order.WORKING, intent__symbol=desk.symbol).exclude(state=Order.State.NEW)}
    for ref, perm_id, kind, qty in snapshot.open_orders:
        if ref not in working:
            problems.append(f"IB holds an order MIA does not know ({kind} {qty:g}, orderRef {ref or '-'}, "
                            f"permId {perm_id})")
    with transaction.atomic():
        for coid, order in working.items():
            if coid not in present and coid not in resent:
                move(order, Order.State.CANCELLED, reason="not at the broker after the reconnection")
                desk._push(order)
    if snapshot.position != desk.book.qty:
        problems.append(f"IB position {snapshot.position} != MIA's {desk.book.qty}")
    stops = [ref for ref, _, kind, _ in snapshot.open_orders if kind in ("STP", "STP LMT")
             and working.get(ref) is not None and working[ref].intent.role == Role.STOP]
    if snapshot.position != 0 and not stops and not any(c.endswith("-S") for c in resent):
        problems.append(f"position {snapshot.position} has no working stop at IB")
    if problems:
        desk._halt("reconciliation with IB: " + "; ".join(problems))
    log.info("reconciled with IB: position %d, %d open order(s), %d execution(s) recorded, %d resent",
             snapshot.position, len(snapshot.open_orders), len(fill_ids), len(resent))
    return problems


def _resend_unacknowledged(desk: Desk, present: set[str]) -> set[str]:
    resent: set[str] = set()
    for head, children in desk.broker.unacknowledged(present):
        with transaction.atomic():
            order = Order.objects.select_for_update().select_related("intent").filter(client_order_id=head).first()
            if order is None or order.state not in Order.WORKING:
                continue
            intent = order.intent
            if intent.role == Role.ENTRY and intent.decided_at is not None \
                    and desk.now_ns() - to_ns(intent.decided_at) > ENTRY_MAX_AGE_NS:
                move(order, Order.State.REJECTED, reason="never reached the broker; too old to send again")
                for child in Order.objects.filter(client_order_id__in=children, state__in=Order.WORKING):
                    move(child, Order.State.CANCELLED, reason="its entry never reached the broker")
                continue
            log.warning("order %s never reached IB before the link dropped; sending it again", head)
            rows = [Order.objects.select_related("intent").get(client_order_id=c) for c in children]
            if rows:
                desk.broker.submit_bracket(working_order(intent, head), [working_order(r.intent, r.client_order_id)
                                                                    for r in rows])
            else:
                desk.broker.submit(working_order(intent, head, qty=intent.qty - order.filled_qty))
            resent.update([head, *children])
    return resent
