"""The live order path: the runner's verdicts, the outbox, the gateway desk, fills, brackets, the kill switch.

These run against a real redis-server (the order-command stream) and the test database.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from mia_site.redis import redis_client
from trading import config, services
from trading.adapters.paper.broker import PaperBroker
from trading.engine.bars import ClosedBar
from trading.engine.fills import FillConfig
from trading.engine.matching import Execution
from trading.engine.orders import InvalidTransition
from trading.engine.ticks import NS_PER_S, Tick
from trading.live import execution, order_stream
from trading.live.commands import Action, Command
from trading.live.desk import Desk, move
from trading.models import (
    AuditLog,
    Bar,
    DailyStats,
    Order,
    OrderCommand,
    OrderIntent,
    Position,
    RiskSettings,
    Signal,
    Trade,
    TradingState,
)

State = TradingState.State
T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # a Tuesday, 09:00 CT: market open
FEATURES = {"atr": 2.0, "volatility_regime": 0.5}


@pytest.fixture
def desk(real_redis, trading_state):
    execution.reset()
    return Desk(PaperBroker(fill_config=FillConfig(slippage_ticks=1), session="t"),
                now_ns=lambda: int(T0.timestamp()) * NS_PER_S + 65 * NS_PER_S)


def _beat(feed_time: datetime) -> None:
    redis_client().set("mia:gateway", json.dumps({"at": time.time(), "last_tick_wall": time.time(),
                                                  "last_tick_ts": feed_time.isoformat()}))


@pytest.fixture
def fresh_feed(real_redis):
    _beat(T0.replace(minute=1, second=5))  # the feed is just past the signal bar's close


@pytest.fixture
def commands(desk):
    return order_stream.CommandConsumer(redis_client(), desk.handle)


def _bar(minute: int = 0, close: float = 4800.0) -> Bar:
    return Bar.objects.create(symbol="ES", ts=T0.replace(minute=minute), open=close, high=close + 1, low=close - 1,
                              close=close, volume=100, source="sim")


def _decide(direction: int = 1, minute: int = 0, close: float = 4800.0, features: dict | None = None,
            capture=None) -> Signal:
    """One bar's cycle after the engine: a Signal with ``direction``, then the runner's decision applied."""
    bar = _bar(minute, close)
    with transaction.atomic():
        signal = Signal.objects.create(bar=bar, symbol="ES", ts=bar.ts, confluence=0.8, label="STRONG_BUY",
                                       direction=direction)
        execution.apply(signal=signal, bar=bar, features=features or FEATURES, settings=config.run_settings())
    signal.refresh_from_db()
    return signal


def _tick(price: float, second: int = 0) -> Tick:
    return Tick(ts_ns=int(T0.timestamp()) * NS_PER_S + second * NS_PER_S, price=price, size=1, bid=price - 0.25,
                ask=price)


def _stream_len() -> int:
    return redis_client().xlen(order_stream.STREAM)


def test_an_approved_signal_creates_one_entry_published_after_commit(fresh_feed, desk,
                                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signal = _decide()
    intent = OrderIntent.objects.get()
    assert intent.qty == 1 and intent.role == "ENTRY" and intent.client_order_id == f"E{signal.pk}"
    assert signal.risk_approved is True and signal.risk_reasons == []
    assert intent.bracket == {"stop_atr_mult": 2.0, "target_r": 2.0} and intent.decided_at == T0 + timedelta(minutes=1)
    assert _stream_len() == 1 and OrderIntent.objects.get().sent_at is not None
    command = OrderCommand.objects.get()
    assert (command.action, command.client_order_id) == ("submit", intent.client_order_id)
    assert command.published_at is not None and command.acked_at is None


def test_without_a_live_feed_the_risk_manager_denies_as_stale(desk):
    signal = _decide()
    assert signal.risk_approved is False and "STALE_DATA" in signal.risk_reasons
    assert not OrderIntent.objects.exists()


def test_a_halted_system_denies_new_entries_with_the_state_reason(fresh_feed, desk):
    services.set_trading_state(to=State.HALTED, actor=services.Actor("t", is_system=True), reason="t")
    assert "STATE_HALTED" in _decide().risk_reasons


def test_too_wide_a_stop_sizes_to_zero_contracts(fresh_feed, desk):
    assert _decide(features={"atr": 40.0, "volatility_regime": 0.5}).risk_reasons == ["ZERO_SIZE"]


def test_a_redelivered_submit_makes_one_broker_order(fresh_feed, desk):
    signal = _decide()
    command = Command(Action.SUBMIT, f"E{signal.pk}")
    desk.handle(command)
    desk.handle(command)
    assert list(desk.broker.working) == [f"E{signal.pk}"]
    assert Order.objects.get().state == Order.State.ACCEPTED


def test_a_worker_killed_between_commit_and_send_still_yields_exactly_one_order(fresh_feed, desk, commands):
    _decide()  # on_commit never runs: the worker was "killed" before it published
    assert _stream_len() == 0 and OrderCommand.objects.get().published_at is None
    assert commands.sweep(older_than_s=0) == 1
    assert commands.sweep(older_than_s=0) == 0
    commands.poll()
    assert Order.objects.get().state == Order.State.ACCEPTED and len(desk.broker.working) == 1
    assert OrderCommand.objects.get().acked_at is not None


def test_a_command_is_acknowledged_only_after_it_is_handled(fresh_feed, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _decide()

    def crash(command):
        raise RuntimeError("gateway died mid-command")

    order_stream.CommandConsumer(redis_client(), crash).poll()
    assert Order.objects.get().state == Order.State.NEW and OrderCommand.objects.get().acked_at is None
    order_stream.CommandConsumer(redis_client(), desk.handle).poll()
    assert Order.objects.get().state == Order.State.ACCEPTED and OrderCommand.objects.get().acked_at is not None


def test_a_command_delivered_twice_is_carried_out_once(fresh_feed, desk, commands, django_capture_on_commit_callbacks):
    _open_long(desk)
    with django_capture_on_commit_callbacks(execute=True):
        services.kill_switch(action="flatten", actor=services.Actor("op", is_system=True), reason="out")
    row = OrderCommand.objects.get(action="flatten")
    order_stream.publish([row.pk])  # rung twice: the stream holds it twice
    OrderCommand.objects.filter(pk=row.pk).update(acked_at=None)
    commands.poll()
    commands.poll()
    commands.sweep(older_than_s=0)
    assert OrderIntent.objects.filter(role="FLATTEN").count() == 1


def _open_long(desk) -> OrderIntent:
    signal = _decide()
    desk.submit(f"E{signal.pk}")
    desk.on_tick(_tick(4800.0, 61))
    return OrderIntent.objects.get(client_order_id=f"E{signal.pk}")


def test_an_entry_fill_opens_its_bracket_and_a_stop_fill_cancels_the_target(fresh_feed, desk):
    entry = _open_long(desk)
    assert entry.bracket["entry"] == 4800.25  # market buy at the ask plus one tick of slippage
    assert entry.bracket["stop"] == 4796.25 and entry.bracket["target"] == 4808.25  # 2 x ATR, 2 R
    assert Position.objects.get().qty == 1
    legs = {o.intent.role: o.state for o in Order.objects.select_related("intent").exclude(intent=entry)}
    assert legs == {"STOP": "ACCEPTED", "TARGET": "ACCEPTED"}

    desk.on_tick(_tick(4796.0, 62))  # trades through the stop
    legs = {o.intent.role: o.state for o in Order.objects.select_related("intent").exclude(intent=entry)}
    assert legs == {"STOP": "FILLED", "TARGET": "CANCELLED"}
    trade = Trade.objects.get()
    assert (trade.side, trade.exit_reason, trade.qty, trade.signal_id) == ("LONG", "stop", 1, entry.signal_id)
    assert trade.commission_usd == pytest.approx(5.0)
    assert trade.pnl_usd == pytest.approx((trade.exit_price - 4800.25) * 50 - 5.0)
    stats = DailyStats.objects.get()
    assert (stats.entries, stats.trades, stats.losses, stats.consecutive_losses) == (1, 1, 1, 1)
    assert stats.realized_pnl_usd == pytest.approx(trade.pnl_usd)
    position = Position.objects.get()
    assert position.qty == 0 and position.realized_pnl_usd == pytest.approx(trade.pnl_usd) and not desk.broker.working


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
    exit_intent = execution.send_exit(qty=1, reason="time", entry=entry, decided_ns=int(T0.timestamp()) * NS_PER_S)
    desk.submit(exit_intent.client_order_id)
    assert set(desk.broker.working) == {exit_intent.client_order_id}
    desk.on_tick(_tick(4790.0, 65))  # through the old stop as well: only the exit may fill
    assert Position.objects.get().qty == 0 and Trade.objects.get().exit_reason == "time"


def test_an_exit_that_would_not_reduce_the_position_is_refused(fresh_feed, desk):
    entry = _open_long(desk)
    desk.on_tick(_tick(4796.0, 62))  # the stop fills: flat
    late_exit = execution.send_exit(qty=1, reason="reversal", entry=entry, decided_ns=0)
    desk.submit(late_exit.client_order_id)
    assert Order.objects.get(client_order_id=late_exit.client_order_id).state == Order.State.REJECTED
    assert Position.objects.get().qty == 0


def test_a_fill_on_a_closed_order_is_recorded_and_halts(fresh_feed, desk):
    _open_long(desk)
    stop = Order.objects.get(intent__role="STOP")
    desk.cancel(stop.client_order_id, reason="t")
    desk.record_execution(Execution("late-1", stop.client_order_id, -1, 1, 4796.0, 2.5,
                                    int(T0.timestamp() + 70) * NS_PER_S))
    assert TradingState.objects.get().state == State.HALTED
    assert Position.objects.get().qty == 0


def test_a_bar_older_than_the_feed_is_stale_and_not_traded(real_redis, desk):
    _beat(T0.replace(minute=30))  # the feed is 29 minutes past this bar's close
    assert _decide().risk_reasons == ["STALE_DATA"]


def test_an_entry_that_reaches_the_gateway_late_is_refused(fresh_feed, desk):
    signal = _decide()
    OrderIntent.objects.filter(pk=signal.intents.get().pk).update(decided_at=T0 - timedelta(minutes=5))
    desk.submit(f"E{signal.pk}")
    assert Order.objects.get().state == Order.State.REJECTED and not desk.broker.working


def test_a_poisoned_command_never_blocks_a_later_flatten(fresh_feed, desk, django_capture_on_commit_callbacks):
    _open_long(desk)
    poisoned = []
    consumer = order_stream.CommandConsumer(redis_client(), desk.handle,
                                            on_poison=lambda command, error: poisoned.append((command, error)))
    redis_client().xadd(order_stream.STREAM, {"action": "modify", "client_order_id": "E1-S", "reason": "not-a-price"})
    consumer.poll()
    with django_capture_on_commit_callbacks(execute=True):
        services.kill_switch(action="flatten", actor=services.Actor("op", is_system=True), reason="get out")
    consumer.poll()
    desk.on_tick(_tick(4801.0, 63))
    assert Position.objects.get().qty == 0 and Trade.objects.get().exit_reason == "flatten"
    assert poisoned and "not a price" in poisoned[0][1]


def test_version_1_commands_already_in_the_stream_are_still_carried_out(fresh_feed, desk):
    entry = _open_long(desk)
    stop = OrderIntent.objects.get(role="STOP", bracket_id=entry.bracket_id)
    consumer = order_stream.CommandConsumer(redis_client(), desk.handle)
    redis_client().xadd(order_stream.STREAM, {"action": "modify", "client_order_id": stop.client_order_id,
                                              "reason": "4799.0"})
    assert consumer.poll() == 1
    stop.refresh_from_db()
    assert stop.stop_price == 4799.0 and desk.broker.working[stop.client_order_id].price == 4799.0


def test_a_command_of_an_unknown_version_is_set_aside_not_misread(fresh_feed, desk):
    poisoned = []
    consumer = order_stream.CommandConsumer(redis_client(), desk.handle,
                                            on_poison=lambda command, error: poisoned.append(error))
    redis_client().xadd(order_stream.STREAM, {"v": "9", "action": "flatten"})
    assert consumer.poll() == 0
    assert poisoned == ["protocol version '9'; this gateway reads 1 and 2"]


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
    desk.on_tick(_tick(4801.0, 63))
    assert Position.objects.get().qty == 0
    trade = Trade.objects.get()
    assert trade.exit_reason == "flatten" and trade.signal_id is not None
    assert TradingState.objects.get().state == State.HALTED


def test_an_entry_reaching_the_gateway_after_a_halt_is_rejected(fresh_feed, desk):
    signal = _decide()
    services.set_trading_state(to=State.HALTED, actor=services.Actor("t", is_system=True), reason="t")
    desk.submit(f"E{signal.pk}")
    assert Order.objects.get().state == Order.State.REJECTED and not desk.broker.working


def test_a_reconciliation_mismatch_halts_trading(desk):
    desk.book.qty, desk.book.avg_price = 1, 4800.0  # the book says long, no fill says so
    problems = desk.restore_and_reconcile()
    assert problems and TradingState.objects.get().state == State.HALTED


def test_an_invalid_order_transition_raises(fresh_feed, desk):
    entry = _open_long(desk)
    with pytest.raises(InvalidTransition):
        move(entry.order, Order.State.ACCEPTED)


def test_the_daily_loss_limit_flattens_at_the_next_bar_close_and_blocks_the_day(fresh_feed, desk, commands,
                                                                                 django_capture_on_commit_callbacks):
    _open_long(desk)
    down = ClosedBar(symbol="ES", ts=T0.replace(minute=2), open=4790.0, high=4790.0, low=4788.75, close=4789.0,
                     volume=10, buy_volume=None, sell_volume=None, bid=None, ask=None, tick_count=1)
    desk.mark(down)  # 11.25 points x $50 x 1 = -$562.50 open: past the $500 limit
    _beat(T0.replace(minute=3, second=1))
    with django_capture_on_commit_callbacks(execute=True):
        _decide(direction=0, minute=2, close=4789.0)
    exit_intent = OrderIntent.objects.get(role="EXIT")
    assert exit_intent.reason == "daily_loss"
    commands.poll()
    desk.on_tick(_tick(4789.0, 181))
    assert Position.objects.get().qty == 0 and Trade.objects.get().exit_reason == "daily_loss"
    assert TradingState.objects.get().state == State.ACTIVE  # not latched: the rest of the day is blocked
    _beat(T0.replace(minute=4, second=1))
    assert "DAILY_LOSS_LIMIT" in _decide(direction=1, minute=3).risk_reasons


def test_the_drawdown_limit_flattens_and_halts(fresh_feed, desk, commands, django_capture_on_commit_callbacks):
    risk = RiskSettings.load()
    risk.max_drawdown_pct, risk.daily_loss_limit_usd = 1.0, 10_000
    risk.save()
    _open_long(desk)
    desk.mark(ClosedBar(symbol="ES", ts=T0.replace(minute=2), open=4789.0, high=4790.0, low=4785.0, close=4788.0,
                        volume=10, buy_volume=None, sell_volume=None, bid=None, ask=None, tick_count=1))
    _beat(T0.replace(minute=3, second=1))
    with django_capture_on_commit_callbacks(execute=True):
        _decide(direction=0, minute=2, close=4788.0)
    assert OrderIntent.objects.get(role="EXIT").reason == "max_drawdown"
    state = TradingState.objects.get()
    assert state.state == State.HALTED and "MAX_DRAWDOWN" in state.reason and state.changed_by == "risk-monitor"
    assert AuditLog.objects.filter(action="trading_state.halted", actor="risk-monitor").exists()
