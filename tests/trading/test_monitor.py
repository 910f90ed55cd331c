"""The feed- and broker-lost halts wait for the documented window of open-market time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mia_site.redis import redis_client
from trading.live import monitor
from trading.models import AuditLog, TradingState

OPEN = datetime(2025, 3, 4, 15, 0, tzinfo=UTC).timestamp()  # Tuesday 09:00 CT


def _beat(at: float) -> None:
    redis_client().set("mia:gateway", json.dumps({"at": at, "last_tick_wall": at, "last_tick_ts": None}))


@pytest.fixture
def watched(real_redis, trading_state):
    monitor._calendar = None
    return trading_state


def test_a_gateway_restart_inside_the_window_does_not_halt(watched):
    _beat(OPEN - 60)  # a minute without heartbeats: a restart, a deploy
    assert monitor.check_connections(now=OPEN) == []
    assert TradingState.objects.get().state == "ACTIVE"


def test_five_minutes_of_open_market_without_the_gateway_halts(watched):
    _beat(OPEN - 301)
    assert monitor.check_connections(now=OPEN) == ["FEED_LOST", "BROKER_LOST"]
    state = TradingState.objects.get()
    assert state.state == "HALTED" and "FEED_LOST" in state.reason and state.changed_by == "risk-monitor"


def test_closed_market_time_does_not_count(watched):
    friday_close = datetime(2025, 3, 7, 21, 0, tzinfo=UTC).timestamp()  # 15:00 CT Friday, an hour before close
    _beat(friday_close)  # silent from Friday 15:00 CT: one hour of open market, then the weekend
    sunday_open = datetime(2025, 3, 9, 22, 2, tzinfo=UTC).timestamp()  # 17:02 CT Sunday
    assert monitor.check_connections(now=sunday_open) != []  # 62 min of open market: lost
    TradingState.objects.update(state="ACTIVE")
    _beat(datetime(2025, 3, 7, 21, 58, tzinfo=UTC).timestamp())  # 2 min before Friday's close
    assert monitor.check_connections(now=sunday_open) == []  # 2 + 2 min of open market: inside the window


def test_a_second_automatic_halt_keeps_the_first_reason(watched):
    _beat(OPEN - 600)
    monitor.check_connections(now=OPEN)
    first = TradingState.objects.get()
    monitor.check_connections(now=OPEN + 60)
    assert TradingState.objects.get().reason == first.reason
    assert AuditLog.objects.filter(action__startswith="trading_state.halted").count() == 1


def test_never_seen_is_not_a_halt_but_no_entry_goes_out(watched):
    redis_client().delete("mia:gateway")
    assert monitor.check_connections(now=OPEN) == []
    assert TradingState.objects.get().state == "ACTIVE"
