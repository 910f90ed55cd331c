"""Reads. Each returns a queryset or a plain value; no writes here."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from trading.engine.limits import to_ns
from trading.engine.tradedate import trade_date
from trading.models import AuditLog, Bar, Fill, Order, OrderCommand, QuarantinedTick, Signal, Trade, TradingState

_CHICAGO = ZoneInfo("America/Chicago")


def trading_state() -> TradingState:
    """The latched state; a missing row means the system was never seeded, which reads as HALTED."""
    row = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).first()
    if row is None:
        return TradingState(pk=TradingState.SINGLETON_ID, state=TradingState.State.HALTED,
                            reason="not initialised: run `make run` or `manage.py mia_setup`")
    return row


def pending_commands(limit: int = 20) -> QuerySet[OrderCommand]:
    """Commands committed for the gateway and not confirmed by it yet, oldest first."""
    return OrderCommand.objects.filter(acked_at__isnull=True).order_by("created_at")[:limit]


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


def support_resistance_levels(symbol: str, at: datetime | None = None) -> list[dict]:
    """Prior session high/low/close and the current session's overnight range, from stored bars.

    Sessions are CME trading days (17:00 CT open); "overnight" is the current session before the
    08:30 CT cash open. Same levels the support_resistance feature reads, drawn for the trader.
    """
    last = Bar.objects.filter(symbol=symbol).order_by("-ts").first()
    if last is None:
        return []
    today = trade_date(to_ns(at or last.ts))
    since = last.ts - timedelta(days=4)  # enough to reach the previous session over a weekend
    days: dict = {}
    # Tuples, not model instances: four days of minutes is ~6,000 rows on every dashboard load.
    rows = Bar.objects.filter(symbol=symbol, ts__gte=since).order_by("ts").values_list("ts", "high", "low", "close")
    for ts, high, low, close in rows:
        days.setdefault(trade_date(to_ns(ts)), []).append((ts, high, low, close))
    levels = []
    previous = max((d for d in days if d < today), default=None)
    if previous is not None:
        bars = days[previous]
        levels += [{"price": max(b[1] for b in bars), "label": "prior high", "color": "#8a96a3"},
                   {"price": min(b[2] for b in bars), "label": "prior low", "color": "#8a96a3"},
                   {"price": bars[-1][3], "label": "prior close", "color": "#6c7a89"}]
    overnight = [b for b in days.get(today, []) if _before_cash_open(b[0])]
    if overnight:
        levels += [{"price": max(b[1] for b in overnight), "label": "overnight high", "color": "#56ccf2"},
                   {"price": min(b[2] for b in overnight), "label": "overnight low", "color": "#56ccf2"}]
    return levels


def _before_cash_open(ts: datetime) -> bool:
    local = ts.astimezone(_CHICAGO)
    return local.hour >= 17 or (local.hour, local.minute) < (8, 30)
