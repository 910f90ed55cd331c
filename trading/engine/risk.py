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
from datetime import datetime

from trading.engine.calendar import CmeCalendar
from trading.engine.limits import (
    NS_PER_MIN,
    NS_PER_S,
    AccountState,
    HaltReason,
    MarketState,
    OrderRequest,
    Reason,
    RiskConfig,
    RiskVerdict,
    TradingState,
    _ns,
    is_reducing,
)

__all__ = ["NS_PER_MIN", "NS_PER_S", "AccountState", "CatastropheMonitor", "HaltReason", "MarketState",
           "OrderRequest", "Reason", "RiskConfig", "RiskManager", "RiskVerdict", "TradingState", "is_reducing"]

_CLOSED = {"maintenance_break": Reason.MAINTENANCE_BREAK, "weekend": Reason.WEEKEND, "holiday": Reason.HOLIDAY}


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
        # Stale both ways: no data for too long, or deciding on a bar the feed has long left behind.
        if abs(now_ns - market.last_data_ns) > cfg.stale_data_seconds * NS_PER_S:
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
