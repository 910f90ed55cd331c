"""Gateway side of execution: order commands in, broker acknowledgements and fills persisted.

The desk owns the broker adapter (paper now, IB later) inside the gateway process. Every command is
idempotent on `client_order_id`; every execution on its `exec_id`. Entries get their bracket (stop
2 x ATR, target 2 R, from the real fill price) committed and submitted in the same transaction
as the entry fill, so a position is never left without its stop by a crash in between.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from trading import services
from trading.adapters.paper.broker import Execution, PaperBroker, WorkingOrder
from trading.engine.fills import LIMIT, MARKET, STOP
from trading.engine.orders import TRANSITIONS, Bracket, InvalidTransition, OrderStatus
from trading.engine.ticks import NS_PER_S
from trading.live import account
from trading.live.execution import bracket_policy
from trading.models import DailyStats, Fill, Order, OrderIntent, Position, Trade, TradingState
from trading.push import push

log = logging.getLogger(__name__)
KIND = {OrderIntent.Type.MARKET: MARKET, OrderIntent.Type.LIMIT: LIMIT, OrderIntent.Type.STOP: STOP}
Role = OrderIntent.Role
EXIT_REASON = {Role.STOP: "stop", Role.TARGET: "target", Role.FLATTEN: "flatten"}
RISK_REDUCING = {Role.STOP, Role.TARGET, Role.EXIT, Role.FLATTEN}
# An entry decided on a bar is only good for that moment; a late one (backlog, redelivery) is refused.
ENTRY_MAX_AGE = timedelta(seconds=90)


def move(order: Order, to: str, *, reason: str = "") -> None:
    """Apply the engine's order state machine to a stored order (an invalid move raises)."""
    if OrderStatus(to) not in TRANSITIONS[OrderStatus(order.state)]:
        raise InvalidTransition(f"{order.client_order_id}: {order.state} -> {to}")
    order.state = to
    if reason:
        order.reason = reason[:200]
    order.save(update_fields=["state", "reason", "updated_at"])


class Desk:
    def __init__(self, broker: PaperBroker, *, symbol: str = "ES") -> None:
        self.broker = broker
        self.symbol = symbol

    # -- commands (from the Redis stream) ---------------------------------------------------------
    def handle(self, fields: dict) -> None:
        action, coid = fields.get("action"), fields.get("client_order_id", "")
        if action == "submit":
            self.submit(coid)
        elif action == "cancel":
            self.cancel(coid, reason=fields.get("reason", "cancel"))
        elif action == "modify":
            self.modify(coid, float(fields["reason"]))
        elif action == "cancel_all":
            self.cancel_all(reason=fields.get("reason", "cancel all"))
        elif action == "cancel_entries":
            self.cancel_all(reason=fields.get("reason", "reduce only"), roles=(Role.ENTRY,))
        elif action == "flatten":
            self.flatten(reason=fields.get("reason", "flatten"))
        else:
            log.warning("unknown order command %r ignored", fields)

    def submit(self, coid: str) -> Order | None:
        order = Order.objects.select_for_update().select_related("intent").filter(client_order_id=coid).first()
        if order is None:
            log.warning("submit: no order %s; ignored", coid)
            return None
        if order.state != Order.State.NEW:
            return None  # a redelivered or repeated command: the order already exists at the broker
        intent = order.intent
        state = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).values_list("state", flat=True).first()
        if intent.role not in RISK_REDUCING and state != TradingState.State.ACTIVE:
            move(order, Order.State.REJECTED, reason=f"trading state {state or 'unknown'}")
            self._push(order)
            return order
        if intent.role in (Role.EXIT, Role.FLATTEN) and not self._reduces(intent):
            move(order, Order.State.REJECTED, reason="would not reduce the position")
            self._push(order)
            return order
        if intent.role in (Role.EXIT, Role.FLATTEN):
            # A market exit replaces the bracket: both must never fill on the same tick.
            self.cancel_all(reason="exit replaces the bracket", roles=(Role.STOP, Role.TARGET))
        if intent.role == Role.ENTRY and timezone.now() - intent.created_at > ENTRY_MAX_AGE:
            move(order, Order.State.REJECTED, reason="entry expired before reaching the broker")
            self._push(order)
            return order
        move(order, Order.State.SUBMITTED)
        price = intent.stop_price if intent.order_type == OrderIntent.Type.STOP else intent.limit_price
        oco = intent.bracket_id if intent.role in (Role.STOP, Role.TARGET) else ""
        self.broker.submit(WorkingOrder(client_order_id=coid, side=1 if intent.side == "BUY" else -1, qty=intent.qty,
                                        kind=KIND[intent.order_type], price=price, oco_group=oco))
        order.broker_order_id = f"{self.broker.session}:{coid}"
        order.save(update_fields=["broker_order_id", "updated_at"])
        move(order, Order.State.ACCEPTED)
        if intent.sent_at is None:
            OrderIntent.objects.filter(pk=intent.pk).update(sent_at=timezone.now())
        self._push(order)
        return order

    def _reduces(self, intent: OrderIntent) -> bool:
        """Under the position lock: the exit closes (part of) what is actually held right now."""
        position = Position.objects.select_for_update().filter(symbol=intent.symbol).first()
        held = position.qty if position else 0
        return held != 0 and (intent.side == "SELL") == (held > 0) and intent.qty <= abs(held)

    def cancel(self, coid: str, *, reason: str) -> None:
        self.broker.cancel(coid)
        order = Order.objects.select_for_update().filter(client_order_id=coid, state__in=Order.WORKING).first()
        if order is not None:
            move(order, Order.State.CANCELLED, reason=reason)
            self._push(order)

    def modify(self, coid: str, price: float) -> None:
        if self.broker.modify(coid, price):
            OrderIntent.objects.filter(client_order_id=coid).update(stop_price=price)

    def cancel_all(self, *, reason: str, roles: tuple[str, ...] | None = None) -> int:
        working = Order.objects.select_for_update().select_related("intent").filter(state__in=Order.WORKING)
        if roles is not None:
            working = working.filter(intent__role__in=roles)
        count = 0
        for order in working:
            self.broker.cancel(order.client_order_id)
            move(order, Order.State.CANCELLED, reason=reason)
            self._push(order)
            count += 1
        return count

    def flatten(self, *, reason: str) -> Order | None:
        """Cancel every working order, then close the position at market."""
        self.cancel_all(reason=reason)
        position = Position.objects.filter(symbol=self.symbol).first()
        if position is None or position.qty == 0:
            return None
        coid = f"F{int(timezone.now().timestamp() * 1000)}"
        intent = OrderIntent.objects.create(
            client_order_id=coid, bracket_id=coid, role=Role.FLATTEN, symbol=self.symbol,
            side="SELL" if position.qty > 0 else "BUY", qty=abs(position.qty), order_type=OrderIntent.Type.MARKET,
            reason=reason[:40], sent_at=timezone.now())
        Order.objects.create(intent=intent, client_order_id=coid)
        return self.submit(coid)

    # -- executions (from the broker) -------------------------------------------------------------
    def on_tick(self, tick) -> list[int]:
        executions, cancelled = self.broker.on_tick(tick)
        fill_ids = []
        for coid in cancelled:
            with transaction.atomic():
                order = Order.objects.select_for_update().filter(client_order_id=coid, state__in=Order.WORKING).first()
                if order is not None:
                    move(order, Order.State.CANCELLED, reason="one-cancels-other")
                    self._push(order)
        for execution in executions:
            fill_id = self.record_execution(execution)
            if fill_id is not None:
                fill_ids.append(fill_id)
        return fill_ids

    @transaction.atomic
    def record_execution(self, ex: Execution) -> int | None:
        if Fill.objects.filter(exec_id=ex.exec_id).exists():
            return None
        order = Order.objects.select_for_update().select_related("intent").get(client_order_id=ex.client_order_id)
        intent = order.intent
        if order.state not in Order.WORKING:
            # The fill happened at the broker whatever our books say: record it, then stop and shout.
            self._unexpected_fill(order, ex)
        order.filled_qty += ex.qty
        order.avg_fill_price = ex.price if order.avg_fill_price is None else order.avg_fill_price
        order.save(update_fields=["filled_qty", "avg_fill_price", "updated_at"])
        if order.state in Order.WORKING:
            move(order, Order.State.FILLED if order.filled_qty >= intent.qty else Order.State.PARTIALLY_FILLED)
        ts = datetime.fromtimestamp(ex.ts_ns / NS_PER_S, tz=UTC)
        fill = Fill.objects.create(exec_id=ex.exec_id, order=order, ts=ts, side="BUY" if ex.side > 0 else "SELL",
                                   qty=ex.qty, price=ex.price, commission_usd=ex.commission)
        flat = self._apply_to_position(fill, intent)
        if intent.role == Role.ENTRY and order.state == Order.State.FILLED:
            self._open_bracket(intent, ex)
        if flat:
            self.cancel_all(reason="position closed")
        fill_id = fill.pk
        transaction.on_commit(lambda: _enqueue_on_fill(fill_id))
        self._push(order)
        return fill_id

    def _unexpected_fill(self, order: Order, ex: Execution) -> None:
        reason = f"unexpected fill on {order.state} order {order.client_order_id}: {ex.side * ex.qty} @ {ex.price}"
        log.error(reason)
        services.set_trading_state(to=TradingState.State.HALTED, actor=services.Actor(name="gateway", is_system=True),
                                   reason=reason[:500])
        transaction.on_commit(lambda: push("alert", {"level": "error", "message": reason}))

    def _apply_to_position(self, fill: Fill, intent: OrderIntent) -> bool:
        """Update the net position; on returning to flat, write the Trade and the day's stats."""
        pos, _ = Position.objects.select_for_update().get_or_create(symbol=intent.symbol)
        signed = fill.qty if fill.side == "BUY" else -fill.qty
        if pos.qty == 0:
            pos.qty, pos.avg_price, pos.opened_at = signed, fill.price, fill.ts
        elif (pos.qty > 0) == (signed > 0):
            pos.avg_price = (pos.avg_price * abs(pos.qty) + fill.price * fill.qty) / (abs(pos.qty) + fill.qty)
            pos.qty += signed
        else:
            closing = min(abs(signed), abs(pos.qty))
            pos.realized_pnl_usd += (fill.price - pos.avg_price) * (1 if pos.qty > 0 else -1) * closing * 50.0
            entry_qty, entry_price, side = abs(pos.qty), pos.avg_price, "LONG" if pos.qty > 0 else "SHORT"
            pos.qty += signed
            if pos.qty == 0:
                self._close_trade(pos, fill, intent, entry_qty, entry_price, side)
                pos.avg_price, pos.opened_at = None, None
        pos.last_price = fill.price
        pos.save()
        return pos.qty == 0

    def _close_trade(self, pos: Position, fill: Fill, intent: OrderIntent, qty: int, entry: float, side: str) -> None:
        fills = Fill.objects.filter(order__intent__symbol=intent.symbol, ts__gte=pos.opened_at)
        commission = sum(f.commission_usd for f in fills)
        gross = (fill.price - entry) * (1 if side == "LONG" else -1) * qty * 50.0
        entry_intent = OrderIntent.objects.filter(bracket_id=intent.bracket_id, role=Role.ENTRY).first()
        trade = Trade.objects.create(
            symbol=intent.symbol, side=side, qty=qty, entry_time=pos.opened_at, exit_time=fill.ts, entry_price=entry,
            exit_price=fill.price, pnl_usd=gross - commission, commission_usd=commission,
            exit_reason=EXIT_REASON.get(intent.role, intent.reason or "exit"), bracket_id=intent.bracket_id,
            signal=entry_intent.signal if entry_intent else None)
        self._update_daily(trade)

    def _update_daily(self, trade: Trade) -> None:
        stats, _ = DailyStats.objects.select_for_update().get_or_create(day=account.trading_day(trade.exit_time))
        stats.realized_pnl_usd += trade.pnl_usd
        stats.commission_usd += trade.commission_usd
        stats.trades += 1
        if trade.pnl_usd > 0:
            stats.wins += 1
            stats.consecutive_losses = 0
        else:
            stats.losses += 1
            stats.consecutive_losses += 1
            stats.last_loss_at = trade.exit_time
        now_equity, peak = account.equity()
        stats.peak_equity_usd = max(stats.peak_equity_usd, peak)
        stats.max_drawdown_pct = max(stats.max_drawdown_pct, (peak - now_equity) / peak * 100 if peak else 0.0)
        stats.save()

    def _open_bracket(self, entry: OrderIntent, ex: Execution) -> None:
        """Stop and target for the filled entry, committed with the fill and working at once."""
        side = 1 if entry.side == "BUY" else -1
        bracket = Bracket.open(side, entry.qty, ex.price, entry.atr or 1.0, bracket_policy())
        entry.bracket = {"entry": ex.price, "stop": bracket.stop, "target": bracket.target,
                         "risk": bracket.risk_points}
        entry.save(update_fields=["bracket"])
        exit_side = "SELL" if side > 0 else "BUY"
        for role, kind, price in ((Role.STOP, OrderIntent.Type.STOP, bracket.stop),
                                  (Role.TARGET, OrderIntent.Type.LIMIT, bracket.target)):
            coid = f"{entry.client_order_id}-{role[0]}"
            intent = OrderIntent.objects.create(
                client_order_id=coid, signal=entry.signal, bracket_id=entry.bracket_id, role=role,
                symbol=entry.symbol, side=exit_side, qty=entry.qty, order_type=kind,
                stop_price=price if kind == OrderIntent.Type.STOP else None,
                limit_price=price if kind == OrderIntent.Type.LIMIT else None, sent_at=timezone.now())
            Order.objects.create(intent=intent, client_order_id=coid)
            self.submit(coid)

    # -- start-up ---------------------------------------------------------------------------------
    def restore_and_reconcile(self) -> list[str]:
        """Load working orders and the position into the broker; halt on any mismatch."""
        problems: list[str] = []
        for order in Order.objects.select_related("intent").filter(state__in=Order.WORKING):
            if order.state == Order.State.NEW:
                continue  # not yet at the broker: its submit command (or the outbox sweep) brings it
            intent = order.intent
            price = intent.stop_price if intent.order_type == OrderIntent.Type.STOP else intent.limit_price
            self.broker.submit(WorkingOrder(order.client_order_id, 1 if intent.side == "BUY" else -1,
                                            intent.qty - order.filled_qty, KIND[intent.order_type], price,
                                            intent.bracket_id if intent.role in (Role.STOP, Role.TARGET) else ""))
        position = Position.objects.filter(symbol=self.symbol).first()
        stored = position.qty if position else 0
        net = sum(f.qty if f.side == "BUY" else -f.qty for f in Fill.objects.filter(order__intent__symbol=self.symbol))
        if stored != net:
            problems.append(f"position {stored} != net of fills {net}")
        if net != 0 and not Order.objects.filter(state__in=Order.WORKING, intent__role=Role.STOP).exists():
            problems.append(f"position {net} has no working stop")
        self.broker.position = net
        if problems:
            reason = "reconciliation mismatch: " + "; ".join(problems)
            services.set_trading_state(to=TradingState.State.HALTED, reason=reason,
                                       actor=services.Actor(name="gateway", is_system=True))
            push("alert", {"level": "error", "message": reason})
        return problems

    def _push(self, order: Order) -> None:
        data = {"client_order_id": order.client_order_id, "state": order.state, "role": order.intent.role,
                "side": order.intent.side, "qty": order.intent.qty, "filled_qty": order.filled_qty,
                "price": order.intent.stop_price or order.intent.limit_price, "avg_fill_price": order.avg_fill_price,
                "reason": order.reason}
        transaction.on_commit(lambda: push("order", data))


def _enqueue_on_fill(fill_id: int) -> None:
    from trading.tasks import on_fill

    on_fill.delay(fill_id)
