"""Trading models, one module per idea; import them from here."""

from trading.models.backtests import BacktestRun
from trading.models.control import AuditLog, NewsEvent, RiskSettings, StrategyConfig, TradingState
from trading.models.market import Bar, QuarantinedTick
from trading.models.orders import DailyStats, Fill, Order, OrderCommand, OrderIntent, Position, Side, Trade
from trading.models.signals import Signal

__all__ = ["AuditLog", "BacktestRun", "Bar", "DailyStats", "Fill", "NewsEvent", "Order", "OrderCommand", "OrderIntent",
           "Position", "QuarantinedTick", "RiskSettings", "Side", "Signal", "StrategyConfig", "Trade", "TradingState"]
