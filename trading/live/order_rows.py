"""Stored orders as the gateway works them: the state machine applied to a row, and a row as a
``WorkingOrder`` for the broker. Shared by the desk and the venue reconciliation."""

from __future__ import annotations

from trading.adapters.base import WorkingOrder
from trading.engine.fills import LIMIT, MARKET, STOP
from trading.engine.orders import TRANSITIONS, InvalidTransition, OrderStatus
from trading.models import Order, OrderIntent

KIND = {OrderIntent.Type.MARKET: MARKET, OrderIntent.Type.LIMIT: LIMIT, OrderIntent.Type.STOP: STOP}
Role = OrderIntent.Role
# An entry decided on a bar is only good for that moment; a late one (backlog, redelivery) is refused.
ENTRY_MAX_AGE_NS = 90 * 1_000_000_000


def move(order: Order, to: str, *, reason: str = "") -> None:
    """Apply the engine's order state machine to a stored order (an invalid move raises)."""
    if OrderStatus(to) not in TRANSITIONS[OrderStatus(order.state)]:
        raise InvalidTransition(f"{order.client_order_id}: {order.state} -> {to}")
    order.state = to
    if reason:
        order.reason = reason[:200]
    order.save(update_fields=["state", "reason", "updated_at"])


def price_of(intent: OrderIntent) -> float | None:
    return intent.stop_price if intent.order_type == OrderIntent.Type.STOP else intent.limit_price


def working_order(intent: OrderIntent, coid: str, qty: int | None = None) -> WorkingOrder:
    oco = intent.bracket_id if intent.role in (Role.STOP, Role.TARGET) else ""
    return WorkingOrder(client_order_id=coid, side=1 if intent.side == "BUY" else -1,
                        qty=intent.qty if qty is None else qty, kind=KIND[intent.order_type], price=price_of(intent),
                        oco_group=oco)
