"""Trading models, one module per idea; import them from here."""

from trading.models.control import AuditLog, NewsEvent, RiskSettings, StrategyConfig, TradingState
from trading.models.market import Bar, QuarantinedTick
from trading.models.signals import Signal

__all__ = ["AuditLog", "Bar", "NewsEvent", "QuarantinedTick", "RiskSettings", "Signal", "StrategyConfig",
           "TradingState"]
