"""Each risk limit and control denies with its own reason code; reducing orders and cancels get through."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.risk import (
    AccountState,
    CatastropheMonitor,
    HaltReason,
    MarketState,
    OrderRequest,
    RiskConfig,
    RiskManager,
    TradingState,
)

OPEN = to_ns(datetime(2024, 1, 10, 15, 0, tzinfo=UTC))  # Wednesday 09:00 Chicago
MIN = 60_000_000_000


@pytest.fixture(scope="module")
def calendar() -> CmeCalendar:
    return CmeCalendar(start="2023-12-01", end="2025-02-01")


def manager(calendar: CmeCalendar, **overrides) -> RiskManager:
    return RiskManager(RiskConfig(**overrides), calendar=calendar)


def account(**kw) -> AccountState:
    base = {"equity": 50_000.0, "peak_equity": 50_000.0}
    base.update(kw)
    return AccountState(**base)


def market(now: int = OPEN, price: float = 4800.0) -> MarketState:
    return MarketState(last_price=price, last_data_ns=now)


def buy(qty: int = 1, **kw) -> OrderRequest:
    return OrderRequest(side=1, qty=qty, **kw)


def test_clean_entry_is_approved(calendar):
    verdict = manager(calendar).check(buy(), account(), market(), OPEN)
    assert verdict.approved and verdict.reasons == []


@pytest.mark.parametrize(("acct", "reason"), [
    ({"realized_pnl_today": -400.0, "unrealized_pnl": -100.0}, "DAILY_LOSS_LIMIT"),
    ({"realized_pnl_today": 1000.0}, "PROFIT_TARGET_REACHED"),
    ({"position": 1, "working_qty": 0}, None),  # 1 + 1 = 2: allowed
    ({"position": 2}, "MAX_POSITION"),
    ({"position": 1, "working_qty": 1}, "MAX_POSITION"),  # working orders count
    ({"trades_today": 15}, "MAX_TRADES"),
    ({"equity": 44_000.0, "peak_equity": 50_000.0}, "MAX_DRAWDOWN"),  # 12 %
    ({"consecutive_losses": 3, "last_loss_ns": OPEN - 10 * MIN}, "COOLDOWN"),
    ({"state": TradingState.HALTED}, "STATE_HALTED"),
    ({"state": TradingState.REDUCING}, "STATE_REDUCING"),
])
def test_account_limits_deny_entries_with_their_reason(calendar, acct, reason):
    verdict = manager(calendar).check(buy(), account(**acct), market(), OPEN)
    if reason is None:
        assert verdict.approved
    else:
        assert not verdict.approved and reason in verdict.reasons


def test_cooldown_expires(calendar):
    acct = account(consecutive_losses=3, last_loss_ns=OPEN - 31 * MIN)
    assert manager(calendar, cooldown_minutes=30).check(buy(), acct, market(), OPEN).approved


def test_order_controls(calendar):
    rm = manager(calendar)
    assert "MAX_ORDER_QTY" in rm.check(buy(3), account(), market(), OPEN).reasons
    assert "ZERO_SIZE" in rm.check(buy(0), account(), market(), OPEN).reasons
    assert "PRICE_COLLAR" in rm.check(buy(price=4805.25), account(), market(price=4800.0), OPEN).reasons
    assert rm.check(buy(price=4805.0), account(), market(price=4800.0), OPEN).approved  # 20 ticks: at the collar
    assert "STALE_DATA" in rm.check(buy(), account(), market(now=OPEN - 121 * 1_000_000_000), OPEN).reasons


def test_duplicate_client_order_id(calendar):
    rm = manager(calendar)
    assert rm.check(buy(client_order_id="a1"), account(), market(), OPEN).approved
    verdict = rm.check(buy(client_order_id="a1"), account(), market(), OPEN)
    assert verdict.reasons == ["DUPLICATE_CLIENT_ORDER_ID"]


def test_rate_limit_per_minute(calendar):
    rm = manager(calendar, max_orders_per_minute=2)
    assert rm.check(buy(), account(), market(), OPEN).approved
    assert rm.check(buy(), account(), market(), OPEN + 1).approved
    assert rm.check(buy(), account(), market(), OPEN + 2).reasons == ["RATE_LIMIT"]
    assert rm.check(buy(), account(), market(OPEN + MIN), OPEN + MIN + 1).approved  # the window slid


@pytest.mark.parametrize(("moment", "reason"), [
    (datetime(2024, 1, 10, 22, 30, tzinfo=UTC), "MAINTENANCE_BREAK"),
    (datetime(2024, 1, 13, 12, 0, tzinfo=UTC), "WEEKEND"),
    (datetime(2024, 12, 25, 15, 0, tzinfo=UTC), "HOLIDAY"),
    (datetime(2024, 1, 10, 21, 57, tzinfo=UTC), "FLAT_BEFORE_CLOSE"),
])
def test_calendar_controls(calendar, moment, reason):
    now = to_ns(moment)
    verdict = manager(calendar).check(buy(), account(), market(now), now)
    assert reason in verdict.reasons


def test_news_blackout(calendar):
    start = datetime(2024, 1, 10, 13, 25, tzinfo=UTC)
    end = datetime(2024, 1, 10, 13, 35, tzinfo=UTC)
    rm = manager(calendar, news_blackouts=((start, end),))
    inside = to_ns(datetime(2024, 1, 10, 13, 30, tzinfo=UTC))
    assert rm.check(buy(), account(), market(inside), inside).reasons == ["NEWS_BLACKOUT"]
    assert rm.check(buy(), account(), market(to_ns(end)), to_ns(end)).approved


def test_reducing_order_passes_entry_limits_but_not_halt(calendar):
    rm = manager(calendar)
    stuck = account(position=2, realized_pnl_today=-900.0, trades_today=20, state=TradingState.REDUCING)
    sell = OrderRequest(side=-1, qty=2)
    assert rm.check(sell, stuck, market(), OPEN).approved
    assert "STATE_REDUCING" in rm.check(OrderRequest(side=1, qty=1), stuck, market(), OPEN).reasons
    halted = account(position=2, state=TradingState.HALTED)
    assert rm.check(sell, halted, market(), OPEN).reasons == ["STATE_HALTED"]
    assert rm.check(OrderRequest(side=-1, qty=1, cancel=True), halted, market(), OPEN).approved


def test_every_reason_is_reported_not_just_the_first(calendar):
    verdict = manager(calendar).check(buy(3), account(trades_today=15, realized_pnl_today=-600.0), market(), OPEN)
    assert {"MAX_ORDER_QTY", "MAX_TRADES", "DAILY_LOSS_LIMIT"} <= set(verdict.reasons)


@pytest.mark.parametrize("bad", [{"daily_loss_limit": 0}, {"max_position": -1}, {"max_drawdown_pct": 120},
                                 {"max_order_qty": 3}, {"cooldown_minutes": -1}, {"risk_per_trade": 1.5},
                                 {"news_blackouts": ((2, 1),)}])
def test_config_validation(bad):
    with pytest.raises(ValueError):
        RiskConfig(**bad)


def test_catastrophe_monitor():
    mon = CatastropheMonitor()
    ok = mon.evaluate(account(), now=OPEN, last_feed_ns=OPEN - MIN, last_broker_ns=OPEN - MIN,
                      orders_sent=20, order_errors=2)
    assert ok == []
    bad = mon.evaluate(account(realized_pnl_today=-501.0, equity=43_000.0), now=OPEN,
                       last_feed_ns=OPEN - 6 * MIN, last_broker_ns=None, orders_sent=20, order_errors=3)
    assert set(bad) == {HaltReason.DAILY_LOSS_EXCEEDED, HaltReason.DRAWDOWN_EXCEEDED, HaltReason.FEED_LOST,
                        HaltReason.BROKER_LOST, HaltReason.ERROR_RATE}
    few = mon.evaluate(account(), now=OPEN, last_feed_ns=OPEN, last_broker_ns=OPEN, orders_sent=2, order_errors=2)
    assert few == []  # too few orders to judge an error rate
