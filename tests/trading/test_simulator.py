"""The simulated feed's shape: grid, quotes, calendar and intraday profile from the calibration."""

from datetime import UTC, datetime

import numpy as np
import pytest

from trading.adapters.sim.feed import SimulatedFeed, load_calibration
from trading.engine.calendar import CmeCalendar, to_ns
from trading.engine.ticks import NS_PER_S, TickValidator


@pytest.fixture(scope="module")
def day_of_ticks():
    """One simulated Tuesday session, Monday 17:00 CT to Tuesday 16:00 CT."""
    cal = CmeCalendar(start="2025-01-01", end="2025-12-31")
    start = to_ns(datetime(2025, 3, 3, 23, 0, tzinfo=UTC))
    end = to_ns(datetime(2025, 3, 4, 22, 0, tzinfo=UTC))
    feed = SimulatedFeed(start_ns=start, seed=7, calendar=cal)
    out = []
    for tick in feed.events():
        if tick.ts_ns >= end:
            break
        out.append(tick)
    return out


def test_every_simulated_tick_passes_validation(day_of_ticks):
    validator = TickValidator()
    assert all(validator.check(tick) is None for tick in day_of_ticks)


def test_trades_print_at_the_quote_on_the_tick_grid(day_of_ticks):
    for tick in day_of_ticks[:5000]:
        assert tick.price * 4 == int(tick.price * 4)
        assert tick.bid < tick.ask
        assert tick.price in (tick.bid, tick.ask)


def test_simulator_reproduces_the_measured_open_peak_and_quiet_night(day_of_ticks):
    """US open volume per minute is several times the Asian session's, as measured on real ES."""
    cal = load_calibration()["buckets"]
    times = np.array([t.ts_ns for t in day_of_ticks])
    sizes = np.array([t.size for t in day_of_ticks])

    def vol_per_min(utc_start: str, minutes: int = 30) -> float:
        start = to_ns(datetime.fromisoformat(utc_start).replace(tzinfo=UTC))
        mask = (times >= start) & (times < start + minutes * 60 * NS_PER_S)
        return sizes[mask].sum() / minutes

    us_open = vol_per_min("2025-03-04T14:30:00")  # 08:30 CT
    asia = vol_per_min("2025-03-04T01:00:00")  # 19:00 CT
    measured_ratio = cal["08:30"]["volume_per_min"] / cal["19:00"]["volume_per_min"]
    assert us_open / asia == pytest.approx(measured_ratio, rel=0.35)


def test_no_ticks_during_the_maintenance_break():
    cal = CmeCalendar(start="2025-01-01", end="2025-12-31")
    start = to_ns(datetime(2025, 3, 4, 21, 55, tzinfo=UTC))  # 15:55 CT
    feed = SimulatedFeed(start_ns=start, seed=3, calendar=cal)
    stamps = []
    for tick in feed.events():
        stamps.append(tick.ts_ns)
        if tick.ts_ns > start + 90 * 60 * NS_PER_S:
            break
    assert all(cal.is_open(ts) for ts in stamps)
    assert any(ts >= to_ns(datetime(2025, 3, 4, 23, 0, tzinfo=UTC)) for ts in stamps)


def test_same_seed_same_ticks():
    start = to_ns(datetime(2025, 3, 4, 15, 0, tzinfo=UTC))
    a = SimulatedFeed(start_ns=start, seed=11).events()
    b = SimulatedFeed(start_ns=start, seed=11).events()
    assert [next(a) for _ in range(500)] == [next(b) for _ in range(500)]
