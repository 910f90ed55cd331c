"""The stored configuration as the engine's ``RunSettings`` (reads only; the admin writes it).

One function builds what the live worker trades under and what ``backtest`` and ``replay`` run under
by default, so an operator's edit in the admin reaches all three the same way.
"""

from __future__ import annotations

from options.models import BiasSettings
from trading.engine.confluence import ConfluenceConfig
from trading.engine.fills import FillConfig
from trading.engine.orders import BracketPolicy
from trading.engine.risk import RiskConfig
from trading.engine.settings import RunSettings
from trading.models import NewsEvent, RiskSettings, StrategyConfig

BIAS_FIELDS = ("underlyings", "snapshot_minutes", "dealer_sign", "es_spx_basis")


def confluence_config(row: StrategyConfig | None = None) -> ConfluenceConfig:
    row = row or StrategyConfig.current()
    return ConfluenceConfig(weights=row.weights(), **row.thresholds())


def risk_config(row: RiskSettings | None = None) -> RiskConfig:
    row = row or RiskSettings.current()
    blackouts = tuple(NewsEvent.objects.order_by("start").values_list("start", "end"))
    return RiskConfig(
        daily_loss_limit=row.daily_loss_limit_usd, daily_profit_target=row.daily_profit_target_usd,
        max_position=row.max_position, max_trades_per_day=row.max_trades_per_day,
        max_drawdown_pct=row.max_drawdown_pct, max_consecutive_losses=row.max_consecutive_losses,
        cooldown_minutes=row.cooldown_minutes, max_order_qty=min(row.max_order_qty, row.max_position),
        price_collar_ticks=row.price_collar_ticks, max_orders_per_minute=row.max_orders_per_minute,
        stale_data_seconds=row.stale_data_seconds, flat_before_close_minutes=row.flat_before_close_minutes,
        news_blackouts=blackouts, risk_per_trade=row.risk_per_trade_pct / 100.0)


def bracket_policy(row: RiskSettings | None = None) -> BracketPolicy:
    row = row or RiskSettings.current()
    return BracketPolicy(stop_atr_mult=row.stop_atr_multiple, target_r=row.target_r_multiple)


def fill_config(row: RiskSettings | None = None) -> FillConfig:
    row = row or RiskSettings.current()
    return FillConfig(slippage_ticks=row.slippage_ticks, commission_per_side=row.commission_per_contract_usd)


def run_settings() -> RunSettings:
    """Everything stored that decides what is traded, read once."""
    risk = RiskSettings.current()
    bias = BiasSettings.current()
    return RunSettings(confluence=confluence_config(), risk=risk_config(risk), bracket=bracket_policy(risk),
                       fills=fill_config(risk), start_equity=risk.account_equity_usd,
                       bias={name: getattr(bias, name) for name in BIAS_FIELDS})


__all__ = ["bracket_policy", "confluence_config", "fill_config", "risk_config", "run_settings"]
