"""Reads. Each returns a queryset or a plain value; no writes here."""

from __future__ import annotations

from django.db.models import QuerySet

from trading.models import AuditLog, Bar, Fill, Order, QuarantinedTick, Signal, Trade, TradingState


def trading_state() -> TradingState:
    """The latched state; a missing row means the system was never seeded, which reads as HALTED."""
    row = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).first()
    if row is None:
        return TradingState(pk=TradingState.SINGLETON_ID, state=TradingState.State.HALTED,
                            reason="not initialised: run `make run` or `manage.py mia_setup`")
    return row


def recent_bars(symbol: str, limit: int = 300) -> list[Bar]:
    rows = list(Bar.objects.filter(symbol=symbol).order_by("-ts")[:limit])
    rows.reverse()
    return rows


def audit_trail(limit: int = 50) -> QuerySet[AuditLog]:
    return AuditLog.objects.select_related("user").all()[:limit]


def quarantined_count() -> int:
    return QuarantinedTick.objects.count()


def recent_signals(limit: int = 15) -> QuerySet[Signal]:
    return Signal.objects.order_by("-ts")[:limit]


def working_orders() -> QuerySet[Order]:
    return Order.objects.select_related("intent").filter(state__in=Order.WORKING).order_by("created_at")


def recent_trades(limit: int = 15) -> QuerySet[Trade]:
    return Trade.objects.order_by("-exit_time")[:limit]


def recent_fills(limit: int = 15) -> QuerySet[Fill]:
    return Fill.objects.select_related("order__intent").order_by("-ts")[:limit]
