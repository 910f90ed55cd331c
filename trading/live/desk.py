"""Gateway side of execution: order commands in, broker acknowledgements and fills persisted, the book kept.

The desk owns the broker adapter (paper now, IB and DTC next) inside the gateway process. Every
command is idempotent on ``client_order_id`` (and on its outbox row, see ``order_stream``); every
execution on its ``exec_id``. An entry's bracket (stop and target from the real fill price, sized by
the policy stored with the entry) is committed and submitted in the same transaction as the entry
fill, so a position is never left without its stop by a crash in between. The book
(``trading.engine.book``) is the one the backtest keeps: updated by every fill, marked at every bar
close, written with them.

Time is the feed's (``FeedClock``): an entry decided on a bar is only good for ``ENTRY_MAX_AGE`` of
market time, whatever the replay speed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from trading import services
from trading.adapters.base import Broker
from trading.adapters.paper.broker import PaperBroker
from trading.engine.bars import ClosedBar
from trading.engine.book import Book, ClosedTrade
from trading.engine.calendar import from_ns, to_ns
from trading.engine.matching import Execution, WorkingOrder
from trading.engine.orders import Bracket, BracketPolicy
from trading.live import account, venue_sync
from trading.live.commands import Action, Command
from trading.live.order_rows import ENTRY_MAX_AGE_NS, KIND, Role, move, price_of, working_order
from trading.models import Fill, Order, OrderIntent, Trade, TradingState
from trading.push import push

log = logging.getLogger(__name__)
EXIT_REASON = {Role.STOP: "stop", Role.TARGET: "target", Role.FLATTEN: "flatten"}
RISK_REDUCING = {Role.STOP, Role.TARGET, Role.EXIT, Role.FLATTEN}
SYSTEM = services.Actor(name="gateway", is_system=True)


class Desk:
    def __init__(self, broker: Broker | PaperBroker, *, symbol: str = "ES",
                 now_ns: Callable[[], int] | None = None, on_fill: Callable[[int], None] | None = None) -> None:
        self.broker = broker
        self.symbol = symbol
        self.now_ns = now_ns or time.time_ns
        self.on_fill = on_fill
        self.book: Book = account.load_book(symbol)
        self._saved: dict | None = None

    # -- commands -------------------------------------------------------------------------------------
    def handle(self, command: Command) -> str:
        """Carry out one command (inside the caller's transaction); returns what happened, in words."""
        action, coid = command.action, command.client_order_id
        if action == Action.SUBMIT:
            order = self.submit(coid)
            return order.state if order is not None else "no such order"
        if action == Action.CANCEL:
            return "cancelled" if self.cancel(coid, reason=command.reason or "cancel") else "not working"
        if action == Action.MODIFY:
            return "modified" if self.modify(coid, command.price) else "not working"
        if action == Action.CANCEL_ALL:
            return f"{self.cancel_all(reason=command.reason or 'cancel all')} cancelled"
        if action == Action.CANCEL_ENTRIES:
            return f"{self.cancel_all(reason=command.reason or 'reduce only', roles=(Role.ENTRY,))} entries cancelled"
        order = self.flatten(reason=command.reason or "flatten")
        return "flat already" if order is None else f"closing order {order.client_order_id} {order.state}"

    def submit(self, coid: str) -> Order | None:
        order = Order.objects.select_for_update().select_related("intent").filter(client_order_id=coid).first()
        if order is None:
            log.warning("submit: no order %s; ignored", coid)
            return None
        if order.state != Order.State.NEW:
            return order  # a redelivered or repeated command: the order already exists at the broker
        intent = order.intent
        state = account.trading_state()
        if intent.role not in RISK_REDUCING and state != TradingState.State.ACTIVE:
            return self._reject(order, f"trading state {state}")
        if intent.role in (Role.EXIT, Role.FLATTEN) and not self._reduces(intent):
            return self._reject(order, "would not reduce the position")
        if intent.role in (Role.EXIT, Role.FLATTEN):
            # A market exit replaces the bracket: both must never fill on the same tick.
            self.cancel_all(reason="exit replaces the bracket", roles=(Role.STOP, Role.TARGET))
        if intent.role == Role.ENTRY and intent.decided_at is not None \
                and self.now_ns() - to_ns(intent.decided_at) > ENTRY_MAX_AGE_NS:
            return self._reject(order, "entry expired before reaching the broker")
        if intent.role == Role.ENTRY and self.native_brackets:
            return self._submit_native_bracket(order)
        move(order, Order.State.SUBMITTED)
        self.broker.submit(working_order(intent, coid))
        self._accepted(order)
        return order

    def _accepted(self, order: Order) -> None:
        order.broker_order_id = f"{self.broker.session}:{order.client_order_id}"
        order.save(update_fields=["broker_order_id", "updated_at"])
        move(order, Order.State.ACCEPTED)
        self._push(order)

    @property
    def native_brackets(self) -> bool:
        return bool(getattr(self.broker, "native_brackets", False))

    def _submit_native_bracket(self, order: Order) -> Order:
        """The entry with its stop and target as one bracket at the broker (IB holds the stop from the
        start). Their prices come from the last close and move to the fill price when the entry fills."""
        intent = order.intent
        children = [Order.objects.select_related("intent").get(client_order_id=coid)
                    for coid in self._bracket_children(intent, price=self.book.last_price or 0.0)]
        for row in (order, *children):
            move(row, Order.State.SUBMITTED)
        self.broker.submit_bracket(working_order(intent, order.client_order_id),
                                   [working_order(c.intent, c.client_order_id) for c in children])
        for row in (order, *children):
            self._accepted(row)
        return order

    def _reject(self, order: Order, reason: str) -> Order:
        move(order, Order.State.REJECTED, reason=reason)
        self._push(order)
        return order

    def _reduces(self, intent: OrderIntent) -> bool:
        """The exit closes (part of) what is actually held right now."""
        held = self.broker.position if getattr(self.broker, "reports_position", False) \
            and intent.role == Role.FLATTEN else self.book.qty
        return held != 0 and (intent.side == "SELL") == (held > 0) and intent.qty <= abs(held)

    def cancel(self, coid: str, *, reason: str) -> bool:
        self.broker.cancel(coid)
        order = Order.objects.select_for_update().filter(client_order_id=coid, state__in=Order.WORKING).first()
        if order is None:
            return False
        move(order, Order.State.CANCELLED, reason=reason)
        self._push(order)
        return True

    def modify(self, coid: str, price: float | None) -> bool:
        if price is None or not self.broker.modify(coid, price):
            return False
        OrderIntent.objects.filter(client_order_id=coid).update(stop_price=price)
        return True

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
        """Cancel every working order, then close the position at market (as the broker reports it,
        when it does: IB's position is the one that counts)."""
        self.cancel_all(reason=reason)
        if getattr(self.broker, "reports_position", False):
            self.broker.cancel_instrument()
            held = self.broker.position
        else:
            held = self.book.qty
        if held == 0:
            return None
        return self._closing_order(f"F{self.now_ns() // 1_000_000}", Role.FLATTEN, reason, held=held)

    def _closing_order(self, coid: str, role: str, reason: str, *, held: int | None = None) -> Order | None:
        held = self.book.qty if held is None else held
        entry = self._current_entry()
        intent = OrderIntent.objects.create(
            client_order_id=coid, bracket_id=entry.bracket_id if entry else coid, role=role, symbol=self.symbol,
            side="SELL" if held > 0 else "BUY", qty=abs(held), order_type=OrderIntent.Type.MARKET,
            reason=reason[:40], sent_at=timezone.now(), decided_at=from_ns(self.now_ns()))
        Order.objects.create(intent=intent, client_order_id=coid)
        return self.submit(coid)

    # -- market data ----------------------------------------------------------------------------------
    def on_tick(self, tick) -> list[int]:
        executions, cancelled = self.broker.on_tick(tick)
        return self._settle(executions, cancelled)

    def on_bar(self, bar: ClosedBar) -> list[int]:
        """Bar matching (a bar feed): orders placed on an entry fill are matched on the same bar too."""
        fill_ids: list[int] = []
        for _ in range(4):  # entry -> bracket -> (a bracket leg) is at most three rounds
            executions, cancelled = self.broker.on_bar(bar)
            if not executions and not cancelled:
                break
            fill_ids += self._settle(executions, cancelled)
        return fill_ids

    def poll(self) -> list[int]:
        """A venue that reports on its own (IB): its executions, cancellations and rejections since the
        last poll, and the reconciliation after each (re)connection. Paper brokers have nothing here."""
        poll = getattr(self.broker, "poll", None)
        if poll is None:
            return []
        if getattr(self.broker, "reconcile_due", False):
            self.reconcile_with_broker()
        executions, cancelled, rejections = poll()
        for rejection in rejections:
            self._rejected_by_venue(rejection)
        fill_ids = self._settle(executions, cancelled)
        problems = [*getattr(self.broker, "unclassified", []), *(
            f"IB reported an execution MIA did not place: {text}" for text in getattr(self.broker, "foreign", []))]
        if problems:
            self.broker.unclassified.clear()
            self.broker.foreign.clear()
            self._halt("; ".join(problems))
        return fill_ids

    @transaction.atomic
    def _rejected_by_venue(self, rejection) -> None:
        order = Order.objects.select_for_update().select_related("intent").filter(
            client_order_id=rejection.client_order_id).first()
        if order is None or order.state not in Order.WORKING:
            return
        reason = f"rejected by the broker: {rejection.code} {rejection.text}"
        move(order, Order.State.REJECTED, reason=reason)
        self._push(order)
        message = f"order {order.client_order_id} ({order.intent.role} {order.intent.side} {order.intent.qty}) {reason}"
        log.error(message)
        transaction.on_commit(lambda: push("alert", {"level": "error", "message": message[:300]}))
        if order.intent.role == Role.ENTRY:
            for child in Order.objects.select_for_update().filter(intent__bracket_id=order.intent.bracket_id,
                                                                  intent__role__in=(Role.STOP, Role.TARGET),
                                                                  state__in=Order.WORKING):
                self.broker.cancel(child.client_order_id)
                move(child, Order.State.CANCELLED, reason="its entry was rejected")
        if order.intent.role == Role.STOP and self.book.qty != 0:
            self._halt(f"the stop {order.client_order_id} was rejected: the position has no stop")

    def _halt(self, reason: str) -> None:
        log.error("halting: %s", reason)
        services.set_trading_state(to=TradingState.State.HALTED, actor=SYSTEM, reason=reason[:500])
        transaction.on_commit(lambda: push("alert", {"level": "error", "message": reason[:300]}))

    def reconcile_with_broker(self) -> list[str]:
        """After a (re)connection to a venue that holds orders itself (IB): see ``venue_sync``."""
        return venue_sync.reconcile(self)

    def mark(self, bar: ClosedBar) -> None:
        """Value the book at the bar's close (the risk checks read equity and drawdown there); written only
        when that changed something (flat, most bars change nothing but the last price)."""
        self.book.mark(bar.close, to_ns(bar.ts))
        state = {k: v for k, v in self.book.to_state().items() if k != "last_price"}
        if state != self._saved:
            with transaction.atomic():
                self._save()

    def _save(self) -> None:
        account.save_book(self.book, self.symbol)
        self._saved = {k: v for k, v in self.book.to_state().items() if k != "last_price"}

    def _settle(self, executions: list[Execution], cancelled: list[str]) -> list[int]:
        for coid in cancelled:
            with transaction.atomic():
                order = Order.objects.select_for_update().filter(client_order_id=coid, state__in=Order.WORKING).first()
                if order is not None:
                    move(order, Order.State.CANCELLED, reason="one-cancels-other")
                    self._push(order)
        fill_ids = []
        for execution in executions:
            fill_id = self.record_execution(execution)
            if fill_id is not None:
                fill_ids.append(fill_id)
        return fill_ids

    # -- executions -----------------------------------------------------------------------------------
    @transaction.atomic
    def record_execution(self, ex: Execution) -> int | None:
        if Fill.objects.filter(exec_id=ex.exec_id).exists():
            return None
        order = Order.objects.select_for_update().select_related("intent").filter(
            client_order_id=ex.client_order_id).first()
        if order is None:
            self._halt(f"the broker reported execution {ex.exec_id} ({ex.side * ex.qty} @ {ex.price}) of an order "
                       f"MIA does not know ({ex.client_order_id})")
            return None
        intent = order.intent
        if order.state not in Order.WORKING:
            # The fill happened at the broker whatever our books say: record it, then stop and shout.
            self._unexpected_fill(order, ex)
        total = order.filled_qty + ex.qty
        order.avg_fill_price = ex.price if order.avg_fill_price is None else (
            (order.avg_fill_price * order.filled_qty + ex.price * ex.qty) / total)
        order.filled_qty = total
        order.save(update_fields=["filled_qty", "avg_fill_price", "updated_at"])
        if order.state in Order.WORKING:
            move(order, Order.State.FILLED if order.filled_qty >= intent.qty else Order.State.PARTIALLY_FILLED)
        fill = Fill.objects.create(exec_id=ex.exec_id, order=order, ts=from_ns(ex.ts_ns),
                                   side="BUY" if ex.side > 0 else "SELL", qty=ex.qty, price=ex.price,
                                   commission_usd=ex.commission)
        reason = EXIT_REASON.get(intent.role, intent.reason or "exit")
        closed = self.book.fill(side=ex.side, qty=ex.qty, price=ex.price, commission=ex.commission, ts_ns=ex.ts_ns,
                                reason=reason)
        if intent.role == Role.ENTRY and self.native_brackets:
            self._follow_entry_fill(intent, order)
        elif intent.role == Role.ENTRY and order.state == Order.State.FILLED:
            self._open_bracket(intent, ex)
        if closed is not None:
            self._record_trade(closed, intent)
            self.cancel_all(reason="position closed")
        self._save()
        fill_id = fill.pk
        if self.on_fill is not None:
            transaction.on_commit(lambda: self._follow_up(fill_id))
        self._push(order)
        return fill_id

    def _follow_up(self, fill_id: int) -> None:
        """The fill is committed; its follow-up (dashboard, error-rate check) is best effort."""
        try:
            self.on_fill(fill_id)
        except Exception as exc:  # noqa: BLE001 - the fill is in the database whatever happens here
            log.warning("fill %s recorded, but its follow-up could not be queued: %s", fill_id, exc)

    def _unexpected_fill(self, order: Order, ex: Execution) -> None:
        # The fill happened at the broker whatever our books say: it is recorded, and trading stops.
        self._halt(f"unexpected fill on {order.state} order {order.client_order_id}: {ex.side * ex.qty} @ {ex.price}")

    def _record_trade(self, closed: ClosedTrade, intent: OrderIntent) -> Trade:
        entry = OrderIntent.objects.filter(bracket_id=intent.bracket_id, role=Role.ENTRY).first()
        return Trade.objects.create(
            symbol=self.symbol, side="LONG" if closed.side > 0 else "SHORT", qty=closed.qty,
            entry_time=from_ns(closed.entry_ns), exit_time=from_ns(closed.exit_ns), entry_price=closed.entry_price,
            exit_price=closed.exit_price, pnl_usd=closed.pnl_usd, commission_usd=closed.commission_usd,
            exit_reason=closed.exit_reason, bracket_id=entry.bracket_id if entry else intent.bracket_id,
            signal=entry.signal if entry else None)

    def _current_entry(self) -> OrderIntent | None:
        """The entry whose fill opened the position held now (None when flat or when none did)."""
        if self.book.qty == 0:
            return None
        return (OrderIntent.objects.filter(role=Role.ENTRY, symbol=self.symbol, order__state=Order.State.FILLED)
                .order_by("-created_at", "-id").first())

    def _open_bracket(self, entry: OrderIntent, ex: Execution) -> None:
        """Stop and target for the filled entry, committed with the fill and working at once."""
        for coid in self._bracket_children(entry, price=ex.price, decided_ns=ex.ts_ns):
            self.submit(coid)

    def _bracket_children(self, entry: OrderIntent, *, price: float, decided_ns: int | None = None) -> list[str]:
        """Create the stop and target orders of ``entry``'s bracket around ``price``; returns their ids."""
        bracket = self._geometry(entry, price)
        exit_side = "SELL" if entry.side == "BUY" else "BUY"
        coids = []
        for role, kind, level in ((Role.STOP, OrderIntent.Type.STOP, bracket.stop),
                                  (Role.TARGET, OrderIntent.Type.LIMIT, bracket.target)):
            coid = f"{entry.client_order_id}-{role[0]}"
            intent = OrderIntent.objects.create(
                client_order_id=coid, signal=entry.signal, bracket_id=entry.bracket_id, role=role,
                symbol=entry.symbol, side=exit_side, qty=entry.qty, order_type=kind,
                stop_price=level if kind == OrderIntent.Type.STOP else None,
                limit_price=level if kind == OrderIntent.Type.LIMIT else None, sent_at=timezone.now(),
                decided_at=from_ns(decided_ns if decided_ns is not None else self.now_ns()))
            Order.objects.create(intent=intent, client_order_id=coid)
            coids.append(coid)
        return coids

    @staticmethod
    def _geometry(entry: OrderIntent, price: float) -> Bracket:
        """The bracket around ``price`` by the policy stored with the entry, recorded on it."""
        side = 1 if entry.side == "BUY" else -1
        policy = BracketPolicy(stop_atr_mult=entry.bracket.get("stop_atr_mult", BracketPolicy.stop_atr_mult),
                               target_r=entry.bracket.get("target_r", BracketPolicy.target_r))
        bracket = Bracket.open(side, entry.qty, price, entry.atr or 1.0, policy)
        entry.bracket = {**entry.bracket, "entry": price, "stop": bracket.stop, "target": bracket.target,
                         "risk": bracket.risk_points}
        entry.save(update_fields=["bracket"])
        return bracket

    def _follow_entry_fill(self, entry: OrderIntent, order: Order) -> None:
        """A native bracket's entry (partly) filled: its stop and target move to the average fill price
        and are resized to what has filled, at the broker and here."""
        bracket = self._geometry(entry, order.avg_fill_price)
        for role, level in ((Role.STOP, bracket.stop), (Role.TARGET, bracket.target)):
            child = (Order.objects.select_related("intent").filter(
                intent__bracket_id=entry.bracket_id, intent__role=role, state__in=Order.WORKING).first())
            if child is None:
                continue
            self.broker.modify(child.client_order_id, level, qty=order.filled_qty)
            field = "stop_price" if role == Role.STOP else "limit_price"
            OrderIntent.objects.filter(pk=child.intent_id).update(**{field: level, "qty": order.filled_qty})

    @transaction.atomic
    def close_out(self, *, price: float, ts_ns: int, reason: str = "end_of_data") -> int | None:
        """Cancel everything and close the position at ``price`` now (the end of a replay, as the backtest
        ends); only a broker that can fill at a given price (the paper broker) supports it."""
        self.cancel_all(reason=reason)
        if self.book.qty == 0:
            return None
        order = self._closing_order(f"Z{ts_ns // 1_000_000}", Role.EXIT, reason)
        return self.record_execution(self.broker.mark_out(order.client_order_id, price, ts_ns))

    # -- start-up -------------------------------------------------------------------------------------
    def restore_and_reconcile(self) -> list[str]:
        """Load working orders into the broker; halt on any mismatch between the book, the fills and the stop."""
        problems: list[str] = []
        venue_holds_orders = getattr(self.broker, "reports_position", False)
        for order in Order.objects.select_related("intent").filter(state__in=Order.WORKING):
            if order.state == Order.State.NEW or venue_holds_orders:
                # Not yet at the broker (its submit command or the outbox sweep brings it), or at a venue
                # that keeps them across our restarts (IB: compared at the first connection instead).
                continue
            intent = order.intent
            self.broker.submit(WorkingOrder(order.client_order_id, 1 if intent.side == "BUY" else -1,
                                            intent.qty - order.filled_qty, KIND[intent.order_type], price_of(intent),
                                            intent.bracket_id if intent.role in (Role.STOP, Role.TARGET) else ""))
        held = self.book.qty
        net = sum(f.qty if f.side == "BUY" else -f.qty for f in Fill.objects.filter(order__intent__symbol=self.symbol))
        if held != net:
            problems.append(f"position {held} != net of fills {net}")
        if net != 0 and not Order.objects.filter(state__in=Order.WORKING, intent__role=Role.STOP).exists():
            problems.append(f"position {net} has no working stop")
        if not venue_holds_orders:
            self.broker.position = net
        if problems:
            reason = "reconciliation mismatch: " + "; ".join(problems)
            services.set_trading_state(to=TradingState.State.HALTED, reason=reason, actor=SYSTEM)
            push("alert", {"level": "error", "message": reason})
        return problems

    def _push(self, order: Order) -> None:
        data = {"client_order_id": order.client_order_id, "state": order.state, "role": order.intent.role,
                "side": order.intent.side, "qty": order.intent.qty, "filled_qty": order.filled_qty,
                "price": order.intent.stop_price or order.intent.limit_price, "avg_fill_price": order.avg_fill_price,
                "reason": order.reason}
        transaction.on_commit(lambda: push("order", data))
