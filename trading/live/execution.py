"""Worker side of execution: a signal becomes an order only through sizing and the risk manager.

Intents are committed first and published to the gateway after commit (`order_stream`). Client
order ids are derived from the signal (`E<signal id>`), so a retried task can never create a
second order for the same decision: the unique constraint refuses it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction

from mia_site.redis import redis_client
from trading.engine import sizing
from trading.engine.calendar import to_ns
from trading.engine.orders import Bracket, BracketPolicy
from trading.engine.risk import OrderRequest, RiskManager
from trading.live import account, order_stream
from trading.models import Bar, Order, OrderIntent, Position, RiskSettings, Signal

log = logging.getLogger(__name__)
Role, Type = OrderIntent.Role, OrderIntent.Type
IN_POSITION = "IN_POSITION"

_risk: dict[str, Any] = {"manager": None, "config": None}


def _risk_manager() -> RiskManager:
    """One per worker (it remembers recent order times for the rate limit); rebuilt on a config edit."""
    config = account.risk_config()
    if _risk["manager"] is None or _risk["config"] != config:
        _risk["manager"], _risk["config"] = RiskManager(config), config
    return _risk["manager"]


def bracket_policy(row: RiskSettings | None = None) -> BracketPolicy:
    row = row or RiskSettings.load()
    return BracketPolicy(stop_atr_mult=row.stop_atr_multiple, target_r=row.target_r_multiple)


def _publish_after_commit(intent_ids: list[int]) -> None:
    def send() -> None:
        client = redis_client()
        if client is not None:
            order_stream.publish_intents(client, intent_ids)
    transaction.on_commit(send)


def _create_intent(**fields: Any) -> OrderIntent:
    intent = OrderIntent.objects.create(**fields)
    Order.objects.create(intent=intent, client_order_id=intent.client_order_id)
    return intent


def _verdict(*, signal: Signal, bar: Bar, features: dict[str, float]) -> tuple[list[str], int]:
    """(reason codes, contracts): no reasons means approved for that many contracts."""
    acct = account.account_state(at=bar.ts, last_price=bar.close)
    if acct.position != 0 or acct.working_qty:
        return [IN_POSITION], 0  # one position at a time; exits are managed by its bracket
    row = RiskSettings.load()
    newest = account.newest_tick_time()
    if newest is None or newest - (bar.ts + timedelta(minutes=1)) > timedelta(seconds=row.stale_data_seconds):
        return ["STALE_DATA"], 0  # a late bar (backlog, redelivery) must not trade at today's prices
    stop_points = row.stop_atr_multiple * features.get("atr", 0.0)
    size = sizing.contracts(acct.equity, stop_points, risk_fraction=row.risk_per_trade_pct / 100.0,
                            max_position=row.max_position, current_exposure=acct.position + acct.working_qty,
                            atr_percentile=features.get("volatility_regime"))
    if size.qty == 0:
        return [size.reason or sizing.ZERO_SIZE], 0
    now_ns = to_ns(bar.ts + timedelta(minutes=1))  # decided at the bar's close
    request = OrderRequest(side=signal.direction, qty=size.qty, client_order_id=f"E{signal.pk}")
    verdict = _risk_manager().check(request, acct, account.market_state(now_ns=now_ns, last_price=bar.close), now_ns)
    return list(verdict.reasons), size.qty


def consider_entry(*, signal: Signal, bar: Bar, features: dict[str, float]) -> OrderIntent | None:
    """Size and risk-check the signal's trade; store the verdict on the signal; create the entry."""
    if signal.direction == 0:
        return None
    reasons, qty = _verdict(signal=signal, bar=bar, features=features)
    with transaction.atomic():
        Signal.objects.filter(pk=signal.pk).update(risk_approved=not reasons, risk_reasons=reasons)
        signal.risk_approved, signal.risk_reasons = not reasons, reasons
        if reasons:
            return None
        coid = f"E{signal.pk}"
        try:
            with transaction.atomic():
                intent = _create_intent(
                    client_order_id=coid, signal=signal, bracket_id=coid, role=Role.ENTRY, symbol=bar.symbol,
                    side="BUY" if signal.direction > 0 else "SELL", qty=qty, order_type=Type.MARKET,
                    atr=features.get("atr"))
        except IntegrityError:
            log.info("entry %s already exists; not created twice", coid)
            return None
        _publish_after_commit([intent.pk])
    return intent


def manage_position(*, bar: Bar, signal: Signal | None, features: dict[str, float]) -> str | None:
    """Break-even, trailing stop, time exit and reversal exit for the open bracket, once per bar."""
    position = Position.objects.filter(symbol=bar.symbol).first()
    if position is None or position.qty == 0:
        return None
    entry = (OrderIntent.objects.filter(role=Role.ENTRY, order__state=Order.State.FILLED)
             .exclude(bracket={}).order_by("-created_at").first())
    stop_order = Order.objects.filter(intent__bracket_id=entry.bracket_id if entry else "", intent__role=Role.STOP,
                                      state__in=Order.WORKING).select_related("intent").first()
    if entry is None or stop_order is None:
        return None
    geometry = entry.bracket
    side = 1 if position.qty > 0 else -1
    since = Bar.objects.filter(symbol=bar.symbol, ts__gte=_fill_time(entry), ts__lt=bar.ts)
    extremes = [(b.high, b.low) for b in since]
    best = geometry["entry"]
    for high, low in extremes:
        best = max(best, high) if side > 0 else min(best, low)
    current_stop = stop_order.intent.stop_price
    bracket = Bracket(side=side, qty=abs(position.qty), entry_price=geometry["entry"], stop=current_stop,
                      target=geometry["target"], risk_points=geometry["risk"], policy=bracket_policy(),
                      best_price=best, bars_held=len(extremes),
                      breakeven_done=(current_stop - geometry["entry"]) * side >= 0)
    bracket.on_bar_close(bar.high, bar.low, features.get("atr", 0.0))
    client = redis_client()
    if bracket.time_exit_due() or (signal is not None and bracket.reversal_exit_due(signal.direction)):
        reason = "time" if bracket.time_exit_due() else "reversal"
        send_exit(symbol=bar.symbol, qty=position.qty, reason=reason, key=f"X{entry.pk}")
        return reason
    if bracket.stop != stop_order.intent.stop_price and client is not None:
        # The gateway records the new stop once the broker has it (Desk.modify), not before.
        order_stream.publish(client, action="modify", client_order_id=stop_order.client_order_id,
                             reason=str(bracket.stop))
        return "stop_moved"
    return None


def _fill_time(entry: OrderIntent):
    first = entry.order.fills.order_by("ts").first()
    return first.ts if first else entry.created_at


def send_exit(*, symbol: str, qty: int, reason: str, key: str) -> OrderIntent | None:
    """A market order closing `qty` (signed position), idempotent on `key`."""
    try:
        with transaction.atomic():
            intent = _create_intent(client_order_id=key, bracket_id=key, role=Role.EXIT, symbol=symbol,
                                    side="SELL" if qty > 0 else "BUY", qty=abs(qty), order_type=Type.MARKET,
                                    reason=reason)
            _publish_after_commit([intent.pk])
            return intent
    except IntegrityError:
        return None
