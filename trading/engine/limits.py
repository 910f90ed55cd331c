"""The risk limits and the account and market state the risk checks read (plain data, cheap to import).

Kept apart from ``risk`` (the checks, which need the exchange calendar) because the stored settings'
defaults come from here, and every command imports those at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from trading.engine.instrument import ES

NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S


def to_ns(moment: datetime) -> int:
    """UTC ns of a datetime (a naive one is taken as UTC)."""
    return int(moment.timestamp() * NS_PER_S) if moment.tzinfo else int(
        moment.replace(tzinfo=UTC).timestamp() * NS_PER_S)


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Reason(StrEnum):
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    PROFIT_TARGET_REACHED = "PROFIT_TARGET_REACHED"
    MAX_POSITION = "MAX_POSITION"
    MAX_TRADES = "MAX_TRADES"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    COOLDOWN = "COOLDOWN"
    MAX_ORDER_QTY = "MAX_ORDER_QTY"
    PRICE_COLLAR = "PRICE_COLLAR"
    RATE_LIMIT = "RATE_LIMIT"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    STALE_DATA = "STALE_DATA"
    MAINTENANCE_BREAK = "MAINTENANCE_BREAK"
    WEEKEND = "WEEKEND"
    HOLIDAY = "HOLIDAY"
    FLAT_BEFORE_CLOSE = "FLAT_BEFORE_CLOSE"
    NEWS_BLACKOUT = "NEWS_BLACKOUT"
    STATE_HALTED = "STATE_HALTED"
    STATE_REDUCING = "STATE_REDUCING"
    ZERO_SIZE = "ZERO_SIZE"


class HaltReason(StrEnum):
    DAILY_LOSS_EXCEEDED = "DAILY_LOSS_EXCEEDED"
    DRAWDOWN_EXCEEDED = "DRAWDOWN_EXCEEDED"
    FEED_LOST = "FEED_LOST"
    BROKER_LOST = "BROKER_LOST"
    ERROR_RATE = "ERROR_RATE"




def _ns(t: int | datetime) -> int:
    return t if isinstance(t, int) else to_ns(t)


@dataclass(frozen=True)
class RiskConfig:
    """Hard limits (DESIGN section 4 defaults). Money in USD, times in seconds or minutes as named."""

    daily_loss_limit: float = 500.0
    daily_profit_target: float = 1000.0
    max_position: int = 2
    max_trades_per_day: int = 15
    max_drawdown_pct: float = 12.0
    max_consecutive_losses: int = 3
    cooldown_minutes: float = 30.0
    max_order_qty: int = 2
    price_collar_ticks: int = 20
    max_orders_per_minute: int = 6
    stale_data_seconds: float = 30.0
    flat_before_close_minutes: float = 5.0
    news_blackouts: tuple[tuple[datetime | int, datetime | int], ...] = ()
    risk_per_trade: float = 0.005
    tick_size: float = ES.tick_size
    feed_loss_seconds: float = 300.0
    max_error_rate: float = 0.10
    error_rate_min_orders: int = 10
    _blackouts_ns: tuple[tuple[int, int], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positive = ("daily_loss_limit", "daily_profit_target", "max_position", "max_trades_per_day",
                    "max_drawdown_pct", "max_consecutive_losses", "max_order_qty", "price_collar_ticks",
                    "max_orders_per_minute", "stale_data_seconds", "risk_per_trade", "tick_size",
                    "feed_loss_seconds", "max_error_rate", "error_rate_min_orders")
        bad = [name for name in positive if not getattr(self, name) > 0]
        if bad:
            raise ValueError(f"risk limits must be > 0: {', '.join(bad)}")
        for name in ("cooldown_minutes", "flat_before_close_minutes"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"RiskConfig.{name} must be >= 0")
        if self.max_drawdown_pct >= 100:
            raise ValueError("max_drawdown_pct is a percent of peak equity and must be < 100")
        if self.risk_per_trade >= 1 or self.max_error_rate > 1:
            raise ValueError("risk_per_trade and max_error_rate are fractions and must be < 1")
        if self.max_order_qty > self.max_position:
            raise ValueError(f"max_order_qty ({self.max_order_qty}) cannot exceed max_position ({self.max_position})")
        spans = []
        for i, window in enumerate(self.news_blackouts):
            if len(window) != 2:
                raise ValueError(f"news_blackouts[{i}] must be a (start, end) pair")
            start, end = _ns(window[0]), _ns(window[1])
            if not end > start:
                raise ValueError(f"news_blackouts[{i}]: end must be after start")
            spans.append((start, end))
        object.__setattr__(self, "_blackouts_ns", tuple(sorted(spans)))

    def in_blackout(self, now_ns: int) -> bool:
        return any(s <= now_ns < e for s, e in self._blackouts_ns)


@dataclass(frozen=True)
class OrderRequest:
    """An order someone wants to send. ``side`` +1 buy / -1 sell; ``price`` None for market orders."""

    side: int
    qty: int
    price: float | None = None
    client_order_id: str = ""
    cancel: bool = False


@dataclass
class AccountState:
    """What the risk checks need to know about the account right now (signed position)."""

    equity: float
    peak_equity: float
    position: int = 0
    working_qty: int = 0
    realized_pnl_today: float = 0.0
    unrealized_pnl: float = 0.0
    trades_today: int = 0
    consecutive_losses: int = 0
    last_loss_ns: int | None = None
    state: TradingState = TradingState.ACTIVE

    @property
    def pnl_today(self) -> float:
        return self.realized_pnl_today + self.unrealized_pnl

    @property
    def drawdown_pct(self) -> float:
        return 0.0 if self.peak_equity <= 0 else max(0.0, (self.peak_equity - self.equity) / self.peak_equity * 100)


@dataclass
class MarketState:
    """Last trade price and when market data last arrived (UTC ns)."""

    last_price: float
    last_data_ns: int


@dataclass(frozen=True)
class RiskVerdict:
    approved: bool
    reasons: list[str]


def is_reducing(order: OrderRequest, position: int) -> bool:
    return position != 0 and order.side == -(1 if position > 0 else -1) and order.qty <= abs(position)
