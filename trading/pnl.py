"""Profit and loss marked to the last price, for the dashboard: the book's own figures (``engine.book``)."""

from __future__ import annotations

from django.utils import timezone

from trading.live import account
from trading.models import RiskSettings


def pnl_snapshot(symbol: str, last_price: float | None) -> dict:
    book = account.load_book(symbol)
    now = timezone.now()
    today = book.today if book.today is not None and book.today.day == account.trading_day(now) else None
    unrealized = book.unrealized(last_price)
    realized = today.realized_usd if today else 0.0
    limits = RiskSettings.current()
    marked = book.equity(last_price)
    peak = max(book.peak_equity, marked)
    trades = today.trades if today else 0
    return {"symbol": symbol, "position": book.qty, "avg_price": book.avg_price, "last_price": last_price,
            "unrealized_usd": round(unrealized, 2), "realized_today_usd": round(realized, 2),
            "pnl_today_usd": round(realized + unrealized, 2), "equity_usd": round(marked, 2),
            "trades_today": trades, "win_rate": round(today.wins / trades, 3) if trades else None,
            "profit_factor": round(today.gross_profit_usd / -today.gross_loss_usd, 3)
            if today and today.gross_loss_usd else None,
            "drawdown_pct": round(max(0.0, (peak - marked) / peak * 100), 3) if peak else 0.0,
            "consecutive_losses": book.consecutive_losses,
            "limits": {"daily_loss_usd": limits.daily_loss_limit_usd, "max_trades": limits.max_trades_per_day,
                       "max_drawdown_pct": limits.max_drawdown_pct,
                       "max_consecutive_losses": limits.max_consecutive_losses},
            "at": now.isoformat()}

