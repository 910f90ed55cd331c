"""Worker side of execution: the runner's decision on a bar, persisted and sent through the outbox.

``apply`` reads the book the gateway wrote (marked at this bar's close), the open bracket and the
feed's state, asks the strategy runner (``trading.engine.runner``: the decision path the backtest
runs) what to do, and writes it all in the caller's transaction: the risk verdict on the Signal, the
bracket's management state, the exit, the stop move or the entry with its order, and their commands
to the gateway (published after commit). Client order ids are derived from what they act on
(``E<signal id>``, ``X<entry id>``), so a retried task can never create a second order for the same
decision: the unique constraint refuses it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from trading import services
from trading.engine.book import Book
from trading.engine.calendar import CmeCalendar, from_ns, to_ns
from trading.engine.orders import Bracket
from trading.engine.runner import BarClose, Decision, StrategyRunner
from trading.engine.settings import RunSettings
from trading.live import account, order_stream
from trading.live.commands import Action
from trading.models import Bar, Order, OrderIntent, Signal, TradingState

log = logging.getLogger(__name__)
Role, Type = OrderIntent.Role, OrderIntent.Type
RISK_MONITOR = services.Actor(name="risk-monitor", is_system=True)

_runner: dict[str, Any] = {"runner": None, "settings": None}
_calendar = CmeCalendar()


def runner_for(settings: RunSettings) -> StrategyRunner:
    """One per worker (its risk manager remembers recent orders for the rate limit); rebuilt on an edit."""
    if _runner["runner"] is None or _runner["settings"] != settings:
        _runner["runner"] = StrategyRunner(risk=settings.risk, policy=settings.bracket, calendar=_calendar)
        _runner["settings"] = settings
    return _runner["runner"]


def reset() -> None:
    """Forget the worker's runner (tests)."""
    _runner.update(runner=None, settings=None)


def open_entry(book: Book, symbol: str) -> OrderIntent | None:
    """The entry whose fill opened the position held now."""
    if book.qty == 0:
        return None
    return (OrderIntent.objects.filter(role=Role.ENTRY, symbol=symbol, order__state=Order.State.FILLED)
            .exclude(bracket={}).order_by("-created_at", "-id").first())


def bracket_of(entry: OrderIntent, book: Book, settings: RunSettings) -> Bracket | None:
    """The open bracket as the runner manages it: geometry from the fill, the stop as the broker holds it."""
    geometry, state = entry.bracket, entry.management or {}
    if "entry" not in geometry:
        return None
    stop_order = (Order.objects.filter(intent__bracket_id=entry.bracket_id, intent__role=Role.STOP,
                                       state__in=Order.WORKING).select_related("intent").first())
    stop = stop_order.intent.stop_price if stop_order is not None else geometry["stop"]
    return Bracket(side=1 if book.qty > 0 else -1, qty=abs(book.qty), entry_price=geometry["entry"], stop=stop,
                   target=geometry["target"], risk_points=geometry["risk"], policy=settings.bracket,
                   best_price=state.get("best", geometry["entry"]), bars_held=state.get("bars_held", 0),
                   breakeven_done=state.get("breakeven_done", False))


def apply(*, signal: Signal, bar: Bar, features: dict[str, float], settings: RunSettings) -> Decision:
    """Decide at the bar's close and persist the decision (inside the caller's transaction)."""
    book = account.load_book(bar.symbol, start_equity=settings.start_equity)
    start = to_ns(bar.ts)
    working_qty = account.working_entry_qty()
    acct = book.account(price=bar.close, ts_ns=start, state=account.trading_state(), working_qty=working_qty)
    entry = open_entry(book, bar.symbol)
    bracket = bracket_of(entry, book, settings) if entry is not None else None
    pending = working_qty > 0 or (book.qty != 0 and bracket is None)
    if book.qty != 0 and bracket is None:
        log.warning("position %s without a managed bracket: no entries, no management", book.qty)
    closes = bar.ts.timestamp() + bar.interval_s
    close_bar = BarClose(start_ns=start, end_ns=int(closes * 1_000_000_000), high=bar.high, low=bar.low,
                         close=bar.close, direction=signal.direction, entry_allowed=signal.ml_passed is not False,
                         atr=features.get("atr", 0.0), vol_pct=features.get("volatility_regime"),
                         session_close_ns=_calendar.session_close(start))
    market = account.market_state(last_price=bar.close, stale_after_s=settings.risk.stale_data_seconds)
    decision = runner_for(settings).on_bar_close(close_bar, acct, bracket=bracket, market=market,
                                                 pending_entry=pending, order_id=f"E{signal.pk}")
    _persist(decision, signal=signal, bar=bar, book=book, entry=entry, bracket=bracket, settings=settings,
             features=features, decided_ns=close_bar.end_ns)
    return decision


def _persist(decision: Decision, *, signal: Signal, bar: Bar, book: Book, entry: OrderIntent | None,
             bracket: Bracket | None, settings: RunSettings, features: dict[str, float], decided_ns: int) -> None:
    if decision.risk_reasons is not None:
        approved = decision.entry is not None
        Signal.objects.filter(pk=signal.pk).update(risk_approved=approved, risk_reasons=decision.risk_reasons)
        signal.risk_approved, signal.risk_reasons = approved, decision.risk_reasons
    if entry is not None and bracket is not None:
        OrderIntent.objects.filter(pk=entry.pk).update(management={
            "best": bracket.best_price, "bars_held": bracket.bars_held, "breakeven_done": bracket.breakeven_done})
    if decision.halt_reason is not None:
        _halt(f"automatic halt: {decision.halt_reason.upper()} (drawdown limit "
              f"{settings.risk.max_drawdown_pct:g} % of the high-water mark)")
    if decision.exit_reason is not None and entry is not None:
        send_exit(qty=book.qty, reason=decision.exit_reason, entry=entry, decided_ns=decided_ns)
    elif decision.new_stop is not None and entry is not None:
        stop = Order.objects.filter(intent__bracket_id=entry.bracket_id, intent__role=Role.STOP,
                                    state__in=Order.WORKING).first()
        if stop is not None:
            # The gateway records the new stop once the broker has it (Desk.modify), not before.
            order_stream.queue(action=Action.MODIFY, client_order_id=stop.client_order_id, price=decision.new_stop,
                               reason=f"{'trailing' if bracket.breakeven_done else 'break-even'} stop")
    if decision.entry is not None:
        _send_entry(signal=signal, bar=bar, decision=decision, settings=settings, decided_ns=decided_ns)


def _halt(reason: str) -> None:
    state = account.trading_state()
    if state != TradingState.State.HALTED:
        services.set_trading_state(to=TradingState.State.HALTED, actor=RISK_MONITOR, reason=reason)


def _create_intent(**fields: Any) -> OrderIntent:
    intent = OrderIntent.objects.create(**fields)
    Order.objects.create(intent=intent, client_order_id=intent.client_order_id)
    order_stream.queue(action=Action.SUBMIT, client_order_id=intent.client_order_id)
    return intent


def _send_entry(*, signal: Signal, bar: Bar, decision: Decision, settings: RunSettings, decided_ns: int) -> None:
    entry = decision.entry
    coid = f"E{signal.pk}"
    try:
        with transaction.atomic():
            _create_intent(client_order_id=coid, signal=signal, bracket_id=coid, role=Role.ENTRY, symbol=bar.symbol,
                           side="BUY" if entry.side > 0 else "SELL", qty=entry.qty, order_type=Type.MARKET,
                           atr=entry.atr, decided_at=from_ns(decided_ns),
                           bracket={"stop_atr_mult": settings.bracket.stop_atr_mult,
                                    "target_r": settings.bracket.target_r})
    except IntegrityError:
        log.info("entry %s already exists; not created twice", coid)


def send_exit(*, qty: int, reason: str, entry: OrderIntent, decided_ns: int) -> OrderIntent | None:
    """A market order closing ``qty`` (the signed position), once per entry."""
    try:
        with transaction.atomic():
            return _create_intent(client_order_id=f"X{entry.pk}", bracket_id=entry.bracket_id, role=Role.EXIT,
                                  symbol=entry.symbol, side="SELL" if qty > 0 else "BUY", qty=abs(qty),
                                  order_type=Type.MARKET, reason=reason, decided_at=from_ns(decided_ns))
    except IntegrityError:
        return None
