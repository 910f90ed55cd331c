"""Build the pure risk inputs (config, account, market) from the database and the gateway heartbeat.

Everything here is read fresh on each call so an admin edit or a fill applies at once. A missing
heartbeat reads as stale data, so the risk manager fails closed when the gateway is gone.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Max, Sum

from trading.engine.fills import FillConfig
from trading.engine.risk import AccountState, MarketState, RiskConfig
from trading.engine.risk import TradingState as EngineState
from trading.engine.ticks import NS_PER_S
from trading.health import gateway_beat
from trading.models import DailyStats, NewsEvent, Order, OrderIntent, Position, RiskSettings, Trade, TradingState

CHICAGO = ZoneInfo("America/Chicago")


def trading_day(moment: datetime) -> datetime.date:
    """The CME trading day: the session opening at 17:00 CT belongs to the next calendar day."""
    return (moment.astimezone(CHICAGO) + timedelta(hours=7)).date()


def risk_config(settings_row: RiskSettings | None = None) -> RiskConfig:
    row = settings_row or RiskSettings.load()
    now = datetime.now().astimezone()
    blackouts = tuple((e.start, e.end) for e in NewsEvent.objects.filter(end__gte=now - timedelta(days=1)))
    return RiskConfig(
        daily_loss_limit=row.daily_loss_limit_usd, daily_profit_target=row.daily_profit_target_usd,
        max_position=row.max_position, max_trades_per_day=row.max_trades_per_day,
        max_drawdown_pct=row.max_drawdown_pct, max_consecutive_losses=row.max_consecutive_losses,
        cooldown_minutes=row.cooldown_minutes, max_order_qty=min(row.max_order_qty, row.max_position),
        price_collar_ticks=row.price_collar_ticks, max_orders_per_minute=row.max_orders_per_minute,
        stale_data_seconds=row.stale_data_seconds, flat_before_close_minutes=row.flat_before_close_minutes,
        news_blackouts=blackouts, risk_per_trade=row.risk_per_trade_pct / 100.0)


def fill_config(settings_row: RiskSettings | None = None) -> FillConfig:
    row = settings_row or RiskSettings.load()
    return FillConfig(slippage_ticks=row.slippage_ticks, commission_per_side=row.commission_per_contract_usd)


def equity(settings_row: RiskSettings | None = None) -> tuple[float, float]:
    """(equity now, peak equity) from the starting balance and every closed trade."""
    row = settings_row or RiskSettings.load()
    realized = Trade.objects.aggregate(total=Sum("pnl_usd"))["total"] or 0.0
    now_equity = row.account_equity_usd + realized
    peak = DailyStats.objects.aggregate(peak=Max("peak_equity_usd"))["peak"] or 0.0
    return now_equity, max(peak, now_equity, row.account_equity_usd)


def account_state(*, at: datetime, last_price: float | None = None) -> AccountState:
    row = RiskSettings.load()
    now_equity, peak = equity(row)
    position = Position.objects.filter(symbol=settings.MIA_SYMBOL).first()
    qty = position.qty if position else 0
    unrealized = 0.0
    if position and qty and position.avg_price is not None and last_price is not None:
        unrealized = (last_price - position.avg_price) * qty * 50.0
    working_entries = Order.objects.filter(state__in=Order.WORKING, intent__role=OrderIntent.Role.ENTRY)
    working_qty = sum(o.intent.qty - o.filled_qty for o in working_entries.select_related("intent"))
    stats = DailyStats.objects.filter(day=trading_day(at)).first()
    state = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).values_list("state", flat=True).first()
    return AccountState(
        equity=now_equity + unrealized, peak_equity=peak, position=qty, working_qty=working_qty,
        realized_pnl_today=stats.realized_pnl_usd if stats else 0.0, unrealized_pnl=unrealized,
        trades_today=stats.trades if stats else 0, consecutive_losses=stats.consecutive_losses if stats else 0,
        last_loss_ns=int(stats.last_loss_at.timestamp() * NS_PER_S) if stats and stats.last_loss_at else None,
        state=EngineState(state or TradingState.State.HALTED))


def feed_age_s() -> float | None:
    """Seconds since the gateway last saw a valid tick (wall clock), or None when unknown."""
    wall = gateway_beat().get("last_tick_wall")
    return time.time() - wall if wall else None


def newest_tick_time() -> datetime | None:
    """Feed time of the newest valid tick (simulated time under the simulator), from the heartbeat."""
    stamp = gateway_beat().get("last_tick_ts")
    return datetime.fromisoformat(stamp) if stamp else None


def market_state(*, now_ns: int, last_price: float) -> MarketState:
    """The feed's age is wall-clock time; expressed against `now_ns` so simulated clocks work too."""
    age = feed_age_s()
    last_data_ns = 0 if age is None else now_ns - int(age * NS_PER_S)
    return MarketState(last_price=last_price, last_data_ns=last_data_ns)
