"""The live order path: risk verdicts, the outbox, the gateway desk, fills, brackets and the kill switch.

These run against a real redis-server (the order-command stream) and the test database.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from mia_site.redis import redis_client
from trading import services
from trading.adapters.paper.broker import PaperBroker
from trading.engine.fills import FillConfig
from trading.engine.orders import InvalidTransition
from trading.engine.ticks import NS_PER_S, Tick
from trading.live import execution, order_stream
from trading.live.desk import Desk, move
from trading.models import Bar, DailyStats, Order, OrderIntent, Position, Signal, Trade, TradingState

State = TradingState.State
T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday, 09:00 CT: market open
FEATURES = {"atr": 2.0, "volatility_regime": 0.5}


@pytest.fixture
def desk(real_redis, trading_state):
    execution._risk.update(manager=None, config=None)
    return Desk(PaperBroker(fill_config=FillConfig(slippage_ticks=1), session="t"))


def _beat(feed_time: datetime) -> None:
    redis_client().set("mia:gateway", json.dumps({"at": time.time(), "last_tick_wall": time.time(),
                                                  "last_tick_ts": feed_time.isoformat()}))


@pytest.fixture
def fresh_feed(real_redis):
    _beat(T0.replace(minute=1, second=5))  # the feed is just past the signal bar's close


@pytest.fixture
def commands(desk):
    return order_stream.CommandConsumer(redis_client(), desk.handle)


def _signal(direction: int = 1, minute: int = 0) -> tuple[Signal, Bar]:
    bar = Bar.objects.create(symbol="ES", ts=T0.replace(minute=minute), open=4800, high=4801, low=4799, close=4800,
                             volume=100, source="sim")
    signal = Signal.objects.create(bar=bar, symbol="ES", ts=bar.ts, confluence=0.8, label="STRONG_BUY",
                                   direction=direction)
    return signal, bar


def _tick(price: float, second: int = 0) -> Tick:
    return Tick(ts_ns=int(T0.timestamp()) * NS_PER_S + second * NS_PER_S, price=price, size=1, bid=price - 0.25,
                ask=price)


def _stream_len() -> int:
    return redis_client().xlen(order_stream.STREAM)


def test_an_approved_signal_creates_one_entry_published_after_commit(fresh_feed, desk,
                                                                       django_capture_on_commit_callbacks):
    signal, bar = _signal()
    with django_capture_on_commit_callbacks(execute=True):
        intent = execution.consider_entry(signal=signal, bar=bar, features=FEATURES)
    assert intent is not None and intent.qty == 1 and intent.role == "ENTRY"
    signal.refresh_from_db()
    assert signal.risk_approved is True and signal.risk_reasons == []
    assert _stream_len() == 1 and OrderIntent.objects.get().sent_at is not None
    assert execution.consider_entry(signal=signal, bar=bar, features=FEATURES) is None  # a repeated task
    assert OrderIntent.objects.count() == 1


def test_without_a_live_feed_the_risk_manager_denies_as_stale(desk):
    signal, bar = _signal()
    assert execution.consider_entry(signal=signal, bar=bar, features=FEATURES) is None
    signal.refresh_from_db()
    assert signal.risk_approved is False and "STALE_DATA" in signal.risk_reasons


def test_a_halted_system_denies_new_entries_with_the_state_reason(fresh_feed, desk):
    services.set_trading_state(to=State.HALTED, actor=services.Actor("t", is_system=True), reason="t")
    signal, bar = _signal()
    execution.consider_entry(signal=signal, bar=bar, features=FEATURES)
    signal.refresh_from_db()
    assert "STATE_HALTED" in signal.risk_reasons


def test_too_wide_a_stop_sizes_to_zero_contracts(fresh_feed, desk):
    signal, bar = _signal()
    execution.consider_entry(signal=signal, bar=bar, features={"atr": 40.0, "volatility_regime": 0.5})
    signal.refresh_from_db()
    assert signal.risk_reasons == ["ZERO_SIZE"]


def test_a_redelivered_submit_makes_one_broker_order(fresh_feed, desk):
    signal, bar = _signal()
    intent = execution.consider_entry(signal=signal, bar=bar, features=FEATURES)
    desk.handle({"action": "submit", "client_order_id": intent.client_order_id})
    desk.handle({"action": "submit", "client_order_id": intent.client_order_id})
    assert list(desk.broker.working) == [intent.client_order_id]
    assert Order.objects.get().state == Order.State.ACCEPTED


def test_a_worker_killed_between_commit_and_send_still_yields_exactly_one_order(fresh_feed, desk, commands):
    signal, bar = _signal()
    intent = execution.consider_entry(signal=signal, bar=bar, features=FEATURES)  # on_commit never runs: "killed"
    assert _stream_len() == 0 and intent.sent_at is None
    assert order_stream.sweep_outbox(redis_client(), older_than_s=0) == 1
    assert order_stream.sweep_outbox(redis_client(), older_than_s=0) == 0
    commands.poll()
    commands.poll()
    assert Order.objects.get().state == Order.State.ACCEPTED and len(desk.broker.working) == 1


def test_a_command_is_acknowledged_only_after_it_is_handled(fresh_feed, desk):
    signal, bar = _signal()
    intent = execution.consider_entry(signal=signal, bar=bar, features=FEATURES)
    order_stream.publish(redis_client(), action="submit", client_order_id=intent.client_order_id)

    def crash(fields):
        raise RuntimeError("gateway died mid-command")

    order_stream.CommandConsumer(redis_client(), crash).poll()
    assert Order.objects.get().state == Order.State.NEW
    restarted = order_stream.CommandConsumer(redis_client(), desk.handle)
    restarted.poll()
    assert Order.objects.get().state == Order.State.ACCEPTED


def _open_long(desk) -> OrderIntent:
    signal, bar = _signal()
    intent = execution.consider_entry(signal=signal, bar=bar, features=FEATURES)
    desk.submit(intent.client_order_id)
    desk.on_tick(_tick(4800.0, 1))
    return intent


def test_an_entry_fill_opens_its_bracket_and_a_stop_fill_cancels_the_target(fresh_feed, desk):
    entry = _open_long(desk)
    entry.refresh_from_db()
    assert entry.bracket["entry"] == 4800.25  # market buy at the ask plus one tick of slippage
    assert entry.bracket["stop"] == 4796.25 and entry.bracket["target"] == 4808.25  # 2 x ATR, 2 R
    assert Position.objects.get().qty == 1
    legs = {o.intent.role: o.state for o in Order.objects.select_related("intent").exclude(intent=entry)}
    assert legs == {"STOP": "ACCEPTED", "TARGET": "ACCEPTED"}

    desk.on_tick(_tick(4796.0, 2))  # trades through the stop
    legs = {o.intent.role: o.state for o in Order.objects.select_related("intent").exclude(intent=entry)}
    assert legs == {"STOP": "FILLED", "TARGET": "CANCELLED"}
    trade = Trade.objects.get()
    assert (trade.side, trade.exit_reason, trade.qty) == ("LONG", "stop", 1)
    assert trade.commission_usd == pytest.approx(5.0)
    assert trade.pnl_usd == pytest.approx((trade.exit_price - 4800.25) * 50 - 5.0)
    stats = DailyStats.objects.get()
    assert (stats.trades, stats.losses, stats.consecutive_losses) == (1, 1, 1)
    assert Position.objects.get().qty == 0 and not desk.broker.working


def test_halt_cancels_working_entries_but_keeps_the_positions_stop(fresh_feed, desk, commands,
                                                                    django_capture_on_commit_callbacks):
    _open_long(desk)
    pending = OrderIntent.objects.create(client_order_id="E-late", signal=None, bracket_id="E-late", role="ENTRY",
                                         symbol="ES", side="BUY", qty=1, order_type="MKT")
    Order.objects.create(intent=pending, client_order_id="E-late", state=Order.State.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        services.kill_switch(action="halt", actor=services.Actor("op", is_system=True), reason="news")
    commands.poll()
    working = {o.intent.role for o in Order.objects.select_related("intent").filter(state__in=Order.WORKING)}
    assert working == {"STOP", "TARGET"}
    assert Order.objects.get(client_order_id="E-late").state == Order.State.CANCELLED


def test_a_market_exit_cancels_the_bracket_so_both_never_fill(fresh_feed, desk):
    entry = _open_long(desk)
    exit_intent = execution.send_exit(symbol="ES", qty=1, reason="time", key=f"X{entry.pk}")
    desk.submit(exit_intent.client_order_id)
    assert set(desk.broker.working) == {exit_intent.client_order_id}
    desk.on_tick(_tick(4790.0, 5))  # through the old stop as well: only the exit may fill
    assert Position.objects.get().qty == 0 and Trade.objects.get().exit_reason == "time"


def test_an_exit_that_would_not_reduce_the_position_is_refused(fresh_feed, desk):
    entry = _open_long(desk)
    desk.on_tick(_tick(4796.0, 2))  # the stop fills: flat
    late_exit = execution.send_exit(symbol="ES", qty=1, reason="reversal", key=f"X{entry.pk}")
    desk.submit(late_exit.client_order_id)
    assert Order.objects.get(client_order_id=late_exit.client_order_id).state == Order.State.REJECTED
    assert Position.objects.get().qty == 0


def test_a_fill_on_a_closed_order_is_recorded_and_halts(fresh_feed, desk):
    from trading.adapters.paper.broker import Execution

    entry = _open_long(desk)
    stop = Order.objects.get(intent__role="STOP")
    desk.cancel(stop.client_order_id, reason="t")
    desk.record_execution(Execution("late-1", stop.client_order_id, -1, 1, 4796.0, 2.5, 10 * NS_PER_S))
    assert TradingState.objects.get().state == State.HALTED
    assert Position.objects.get().qty == 0 and entry.pk


def test_a_bar_older_than_the_feed_is_stale_and_not_traded(real_redis, desk):
    _beat(T0.replace(minute=30))  # the feed is 29 minutes past this bar's close
    signal, bar = _signal()
    assert execution.consider_entry(signal=signal, bar=bar, features=FEATURES) is None
    signal.refresh_from_db()
    assert signal.risk_reasons == ["STALE_DATA"]


def test_an_entry_that_reaches_the_gateway_late_is_refused(fresh_feed, desk):
    from datetime import timedelta

    signal, bar = _signal()
    intent = execution.consider_entry(signal=signal, bar=bar, features=FEATURES)
    OrderIntent.objects.filter(pk=intent.pk).update(created_at=intent.created_at - timedelta(minutes=5))
    desk.submit(intent.client_order_id)
    assert Order.objects.get().state == Order.State.REJECTED and not desk.broker.working


def test_a_poisoned_command_never_blocks_a_later_flatten(fresh_feed, desk, django_capture_on_commit_callbacks):
    _open_long(desk)
    poisoned = []
    consumer = order_stream.CommandConsumer(redis_client(), desk.handle,
                                            on_poison=lambda fields, error: poisoned.append(fields))
    order_stream.publish(redis_client(), action="modify", client_order_id="E1-S", reason="not-a-price")
    consumer.poll()
    order_stream.publish(redis_client(), action="flatten", reason="get out")
    for _ in range(6):
        consumer.poll()
    desk.on_tick(_tick(4801.0, 3))
    assert Position.objects.get().qty == 0 and Trade.objects.get().exit_reason == "flatten"
    assert poisoned and poisoned[0]["action"] == "modify"


def test_a_position_without_a_working_stop_fails_reconciliation(fresh_feed, desk):
    _open_long(desk)
    Order.objects.filter(intent__role="STOP").update(state=Order.State.CANCELLED)
    assert any("no working stop" in p for p in Desk(PaperBroker(session="t2")).restore_and_reconcile())
    assert TradingState.objects.get().state == State.HALTED


def test_flatten_cancels_everything_and_closes_the_position(fresh_feed, desk, commands,
                                                           django_capture_on_commit_callbacks):
    _open_long(desk)
    with django_capture_on_commit_callbacks(execute=True):
        services.kill_switch(action="flatten", actor=services.Actor("op", is_system=True), reason="get out")
    commands.poll()
    desk.on_tick(_tick(4801.0, 3))
    assert Position.objects.get().qty == 0
    assert Trade.objects.get().exit_reason == "flatten"
    assert TradingState.objects.get().state == State.HALTED


def test_an_entry_reaching_the_gateway_after_a_halt_is_rejected(fresh_feed, desk):
    signal, bar = _signal()
    intent = execution.consider_entry(signal=signal, bar=bar, features=FEATURES)
    services.set_trading_state(to=State.HALTED, actor=services.Actor("t", is_system=True), reason="t")
    desk.submit(intent.client_order_id)
    assert Order.objects.get().state == Order.State.REJECTED and not desk.broker.working


def test_a_reconciliation_mismatch_halts_trading(desk):
    Position.objects.create(symbol="ES", qty=1, avg_price=4800)  # the database says long, no fill says so
    problems = desk.restore_and_reconcile()
    assert problems and TradingState.objects.get().state == State.HALTED


def test_an_invalid_order_transition_raises(fresh_feed, desk):
    entry = _open_long(desk)
    with pytest.raises(InvalidTransition):
        move(entry.order, Order.State.ACCEPTED)


def test_the_daily_loss_limit_flattens_automatically(fresh_feed, desk, commands, django_capture_on_commit_callbacks):
    from trading.live import monitor
    from trading.models import AuditLog

    _open_long(desk)
    with django_capture_on_commit_callbacks(execute=True):
        reasons = monitor.check_account(at=T0.replace(minute=2), last_price=4789.0)  # 11.25 pts x $50 x 1 < -$500
    assert "DAILY_LOSS_EXCEEDED" in reasons
    commands.poll()
    desk.on_tick(_tick(4789.0, 4))
    assert TradingState.objects.get().state == State.HALTED
    assert AuditLog.objects.filter(action="flatten", actor="risk-monitor").exists()
    assert Position.objects.get().qty == 0
