"""Profit and loss marked to the last price, for the dashboard and the risk monitor."""

from __future__ import annotations

from django.utils import timezone

from trading import account
from trading.models import DailyStats, Position


def pnl_snapshot(symbol: str, last_price: float | None) -> dict:
    position = Position.objects.filter(symbol=symbol).first()
    qty = position.qty if position else 0
    avg = position.avg_price if position else None
    unrealized = (last_price - avg) * qty * 50.0 if qty and avg is not None and last_price is not None else 0.0
    stats = DailyStats.objects.filter(day=account.trading_day(timezone.now())).first()
    realized = stats.realized_pnl_usd if stats else 0.0
    equity, peak = account.equity()
    return {"symbol": symbol, "position": qty, "avg_price": avg, "last_price": last_price,
            "unrealized_usd": round(unrealized, 2), "realized_today_usd": round(realized, 2),
            "pnl_today_usd": round(realized + unrealized, 2), "equity_usd": round(equity + unrealized, 2),
            "trades_today": stats.trades if stats else 0, "at": timezone.now().isoformat()}
