"""The gateway turns a feed into stored bars and quarantines bad ticks with their reasons."""

from datetime import UTC, datetime
from unittest import mock

import pytest

from tests.shared_data import shared_data
from trading.adapters.replay.feed import ReplayFeed
from trading.engine.ticks import NS_PER_S, Tick
from trading.live.gateway import Gateway
from trading.models import Bar, QuarantinedTick


class ListFeed:
    source = "replay"
    simulated = False
    kind = "ticks"

    def __init__(self, ticks):
        self._ticks = ticks

    def events(self):
        return iter(self._ticks)


def _fast_gateway(feed, enqueue=None) -> Gateway:
    return Gateway(feed=feed, symbol="ES", speed=1e9, sleep=lambda s: None, enqueue=enqueue)


def test_real_tick_file_replays_into_minute_bars(db, django_capture_on_commit_callbacks):
    path = shared_data() / "es" / "es_ticks_2011-07-31_mlfinlab_imbalance_sample_data.csv"
    enqueue = mock.Mock()
    with django_capture_on_commit_callbacks(execute=True):
        stats = _fast_gateway(ReplayFeed(path), enqueue).run()
    assert stats.ticks == 11_101 and stats.quarantined == 0
    bars = list(Bar.objects.order_by("ts"))
    assert len(bars) == 50  # 22:00 .. 22:49 UTC, the last minute closed at the end of the file
    assert bars[0].ts == datetime(2011, 7, 31, 22, 0, tzinfo=UTC)
    assert sum(b.volume for b in bars) == 41_809
    assert enqueue.call_count == 50


def test_bad_ticks_are_quarantined_and_never_reach_bars(db):
    t0 = int(datetime(2025, 3, 4, 15, 0, tzinfo=UTC).timestamp()) * NS_PER_S
    ticks = [Tick(ts_ns=t0, price=4800.0, size=1), Tick(ts_ns=t0 + 1, price=4800.1, size=1),
             Tick(ts_ns=t0 + 2, price=float("nan"), size=1), Tick(ts_ns=t0 - 5, price=4800.0, size=1),
             Tick(ts_ns=t0 + 3, price=9000.0, size=1), Tick(ts_ns=t0 + 4, price=4801.0, size=2)]
    stats = _fast_gateway(ListFeed(ticks)).run()
    assert stats.quarantined == 4
    assert sorted(QuarantinedTick.objects.values_list("reason", flat=True)) == [
        "jump", "not_finite", "off_grid", "out_of_order"]
    bar = Bar.objects.get()
    assert (bar.high, bar.low, bar.volume) == (4801.0, 4800.0, 3)


def test_a_bar_stored_twice_is_not_traded_twice(db, django_capture_on_commit_callbacks):
    t0 = int(datetime(2025, 3, 4, 15, 0, tzinfo=UTC).timestamp()) * NS_PER_S
    ticks = [Tick(ts_ns=t0, price=4800.0, size=1)]
    enqueue = mock.Mock()
    with django_capture_on_commit_callbacks(execute=True):
        _fast_gateway(ListFeed(ticks), enqueue).run()
        _fast_gateway(ListFeed(ticks), enqueue).run()
    assert Bar.objects.count() == 1 and enqueue.call_count == 1


@pytest.mark.parametrize("speed", [60.0])
def test_pacing_follows_the_requested_speed(db, speed):
    t0 = int(datetime(2025, 3, 4, 15, 0, tzinfo=UTC).timestamp()) * NS_PER_S
    ticks = [Tick(ts_ns=t0 + i * 6 * NS_PER_S, price=4800.0, size=1) for i in range(11)]  # 60 s of feed time
    clock = {"now": 0.0}
    gateway = Gateway(feed=ListFeed(ticks), symbol="ES", speed=speed, clock=lambda: clock["now"],
                      sleep=lambda s: clock.__setitem__("now", clock["now"] + s))
    gateway.run()
    assert clock["now"] == pytest.approx(60.0 / speed, rel=0.01)
