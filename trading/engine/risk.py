"""Pre-trade risk checks and the catastrophe monitor (pure; shared by live, paper and backtest).

``RiskManager.check`` answers one question for one order: may it go out now? It evaluates every
rule and returns all the reasons that apply (not just the first), because the operator and the
audit trail need the full picture and tests can pin each rule separately.

Orders are classed by what they do to exposure:

* cancels are always allowed (even HALTED must be able to pull orders);
* *reducing* orders (opposite side to the position, no larger than it) skip the limits that exist
  to stop new risk (P&L limits, trade count, cooldown, drawdown, blackout, flat-before-close,
  stale data): blocking an exit would increase risk, not cap it. They still obey the exchange
  calendar, size, price collar, rate and duplicate-id checks;
* everything else is an entry and goes through every rule.

An approved order consumes its client_order_id and a slot in the per-minute rate window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.fills import TICK_SIZE

NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S


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


_CLOSED = {"maintenance_break": Reason.MAINTENANCE_BREAK, "weekend": Reason.WEEKEND, "holiday": Reason.HOLIDAY}


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
    price_collar_ticks: int = 40
    max_orders_per_minute: int = 10
    stale_data_seconds: float = 120.0
    flat_before_close_minutes: float = 5.0
    news_blackouts: tuple[tuple[datetime | int, datetime | int], ...] = ()
    risk_per_trade: float = 0.005
    tick_size: float = TICK_SIZE
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


class RiskManager:
    """Stateful only in what it must remember between orders: ids already used and recent order times."""

    def __init__(self, config: RiskConfig | None = None, *, calendar: CmeCalendar | None = None) -> None:
        self.config = config or RiskConfig()
        self.calendar = calendar or CmeCalendar()
        self._seen_ids: set[str] = set()
        self._recent: deque[int] = deque()

    def check(self, order: OrderRequest, account: AccountState, market: MarketState,
              now: int | datetime) -> RiskVerdict:
        """Every rule that blocks ``order``; approved when there is none (see module docstring)."""
        if order.cancel:
            return RiskVerdict(True, [])
        cfg, now_ns = self.config, _ns(now)
        reasons: list[str] = []
        add = reasons.append
        reducing = is_reducing(order, account.position)
        if account.state == TradingState.HALTED:
            add(Reason.STATE_HALTED)
        elif account.state == TradingState.REDUCING and not reducing:
            add(Reason.STATE_REDUCING)
        if order.qty <= 0:
            add(Reason.ZERO_SIZE)
        if order.qty > cfg.max_order_qty:
            add(Reason.MAX_ORDER_QTY)
        if order.client_order_id and order.client_order_id in self._seen_ids:
            add(Reason.DUPLICATE_CLIENT_ORDER_ID)
        if order.price is not None and abs(order.price - market.last_price) > cfg.price_collar_ticks * cfg.tick_size:
            add(Reason.PRICE_COLLAR)
        window_start = now_ns - NS_PER_MIN
        recent = self._recent
        while recent and recent[0] <= window_start:
            recent.popleft()
        if len(recent) >= cfg.max_orders_per_minute:
            add(Reason.RATE_LIMIT)
        closed = self.calendar.closed_reason(now_ns)
        if closed is not None:
            add(_CLOSED[closed])
        if not reducing:
            self._entry_rules(order, account, market, now_ns, closed is None, add)
        approved = not reasons
        if approved:
            recent.append(now_ns)
            if order.client_order_id:
                self._seen_ids.add(order.client_order_id)
        return RiskVerdict(approved, [str(r) for r in reasons])

    def _entry_rules(self, order: OrderRequest, account: AccountState, market: MarketState, now_ns: int,
                     is_open: bool, add) -> None:
        cfg = self.config
        if account.pnl_today <= -cfg.daily_loss_limit:
            add(Reason.DAILY_LOSS_LIMIT)
        if account.pnl_today >= cfg.daily_profit_target:
            add(Reason.PROFIT_TARGET_REACHED)
        if account.drawdown_pct >= cfg.max_drawdown_pct:
            add(Reason.MAX_DRAWDOWN)
        if account.trades_today >= cfg.max_trades_per_day:
            add(Reason.MAX_TRADES)
        if abs(account.position + order.side * order.qty) + account.working_qty > cfg.max_position:
            add(Reason.MAX_POSITION)
        if (account.consecutive_losses >= cfg.max_consecutive_losses and account.last_loss_ns is not None
                and now_ns - account.last_loss_ns < cfg.cooldown_minutes * NS_PER_MIN):
            add(Reason.COOLDOWN)
        if now_ns - market.last_data_ns > cfg.stale_data_seconds * NS_PER_S:
            add(Reason.STALE_DATA)
        if is_open and cfg.flat_before_close_minutes > 0:
            close = self.calendar.session_close(now_ns)
            if close is not None and close - now_ns <= cfg.flat_before_close_minutes * NS_PER_MIN:
                add(Reason.FLAT_BEFORE_CLOSE)
        if cfg._blackouts_ns and cfg.in_blackout(now_ns):
            add(Reason.NEWS_BLACKOUT)


class CatastropheMonitor:
    """Conditions bad enough to halt trading outright (the kill switch's automatic side)."""

    def __init__(self, config: RiskConfig | None = None) -> None:
        self.config = config or RiskConfig()

    def evaluate(self, account: AccountState, *, now: int | datetime, last_feed_ns: int | None,
                 last_broker_ns: int | None, orders_sent: int = 0, order_errors: int = 0) -> list[HaltReason]:
        """Every halt condition that holds now. A feed or broker never heard from counts as lost.

        The error rate needs ``error_rate_min_orders`` orders before it can trip, so one rejected
        order out of one sent does not halt the system.
        """
        cfg, now_ns = self.config, _ns(now)
        lost_after = cfg.feed_loss_seconds * NS_PER_S
        halts: list[HaltReason] = []
        if account.pnl_today <= -cfg.daily_loss_limit:
            halts.append(HaltReason.DAILY_LOSS_EXCEEDED)
        if account.drawdown_pct >= cfg.max_drawdown_pct:
            halts.append(HaltReason.DRAWDOWN_EXCEEDED)
        if last_feed_ns is None or now_ns - last_feed_ns > lost_after:
            halts.append(HaltReason.FEED_LOST)
        if last_broker_ns is None or now_ns - last_broker_ns > lost_after:
            halts.append(HaltReason.BROKER_LOST)
        if orders_sent >= cfg.error_rate_min_orders and order_errors / orders_sent > cfg.max_error_rate:
            halts.append(HaltReason.ERROR_RATE)
        return halts
