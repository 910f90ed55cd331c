"""Profit and loss marked to the last price, for the dashboard and the risk monitor."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from trading.live import account
from trading.models import DailyStats, Position, RiskSettings, Trade


def pnl_snapshot(symbol: str, last_price: float | None) -> dict:
    position = Position.objects.filter(symbol=symbol).first()
    qty = position.qty if position else 0
    avg = position.avg_price if position else None
    unrealized = (last_price - avg) * qty * 50.0 if qty and avg is not None and last_price is not None else 0.0
    stats = DailyStats.objects.filter(day=account.trading_day(timezone.now())).first()
    realized = stats.realized_pnl_usd if stats else 0.0
    limits = RiskSettings.load()
    equity, peak = account.equity(limits)
    marked = equity + unrealized
    wins, losses = (stats.wins, stats.losses) if stats else (0, 0)
    return {"symbol": symbol, "position": qty, "avg_price": avg, "last_price": last_price,
            "unrealized_usd": round(unrealized, 2), "realized_today_usd": round(realized, 2),
            "pnl_today_usd": round(realized + unrealized, 2), "equity_usd": round(marked, 2),
            "trades_today": wins + losses, "win_rate": round(wins / (wins + losses), 3) if wins + losses else None,
            "profit_factor": _profit_factor(stats), "drawdown_pct": round(max(0.0, (peak - marked) / peak * 100), 3),
            "consecutive_losses": stats.consecutive_losses if stats else 0,
            "limits": {"daily_loss_usd": limits.daily_loss_limit_usd, "max_trades": limits.max_trades_per_day,
                       "max_drawdown_pct": limits.max_drawdown_pct,
                       "max_consecutive_losses": limits.max_consecutive_losses},
            "at": timezone.now().isoformat()}


def _profit_factor(stats: DailyStats | None) -> float | None:
    if stats is None or not stats.trades:
        return None
    day_trades = Trade.objects.filter(exit_time__date__gte=stats.day - timedelta(days=1))
    pnl = [t.pnl_usd for t in day_trades if account.trading_day(t.exit_time) == stats.day]
    gains, losses = sum(p for p in pnl if p > 0), -sum(p for p in pnl if p < 0)
    return round(gains / losses, 3) if losses else None
