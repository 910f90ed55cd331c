"""A confluence backtest on the real ES minute file keeps every hard rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.shared_data import shared_data
from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.calendar import CmeCalendar
from trading.engine.loaders import load_bars
from trading.engine.metrics import session_days
from trading.engine.risk import RiskConfig

pytestmark = pytest.mark.realdata
LOSS_LIMIT = 250.0  # below the default so that the real data is sure to hit it


@pytest.fixture(scope="module")
def run():
    bars = load_bars(shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv").bars
    config = BacktestConfig(strategy="confluence", risk=RiskConfig(daily_loss_limit=LOSS_LIMIT))
    return bars, run_backtest(bars, config)


def test_it_trades(run):
    bars, result = run
    assert result.bars == len(bars) and result.metrics["trades"] > 20
    assert len(result.equity) == len(bars) and np.isfinite(result.equity.to_numpy()).all()


def test_every_fill_is_inside_its_bar(run):
    bars, result = run
    t = result.trades
    for time_col, price_col in (("entry_time", "entry_price"), ("exit_time", "exit_price")):
        bar = bars.loc[t[time_col]]
        assert (t[price_col].to_numpy() >= bar["low"].to_numpy()).all()
        assert (t[price_col].to_numpy() <= bar["high"].to_numpy()).all()


def test_position_never_exceeds_two(run):
    _, result = run
    t = result.trades
    assert (t["qty"] <= 2).all() and (t["qty"] >= 1).all()
    assert (t["entry_time"].iloc[1:].to_numpy() >= t["exit_time"].iloc[:-1].to_numpy()).all()  # one trade at a time
    assert result.notes["max_abs_position"] <= 2


def test_no_entry_after_the_daily_loss_limit(run):
    _, result = run
    t = result.trades
    entry_day = session_days(pd.DatetimeIndex(t["entry_time"]))
    exit_day = session_days(pd.DatetimeIndex(t["exit_time"]))
    hit_days = 0
    for day in np.unique(entry_day):
        today = t[(entry_day == day) & (exit_day == day)]
        realized = today["pnl_usd"].cumsum()
        breached = today["exit_time"][realized <= -LOSS_LIMIT]
        if len(breached):
            hit_days += 1
            later = t[(entry_day == day) & (t["entry_time"] >= breached.iloc[0])]
            assert later.empty, f"entry after the daily loss limit on session {day}"
    assert hit_days > 0, "the real data never hit the loss limit, so this test proved nothing"
    assert result.notes["risk_rejections"].get("DAILY_LOSS_LIMIT", 0) > 0


def test_no_entry_in_the_maintenance_break_or_when_closed(run):
    bars, result = run
    cal = CmeCalendar(start="2013-09-01", end="2020-03-01")
    entries = pd.DatetimeIndex(result.trades["entry_time"])
    assert all(cal.closed_reason(int(ts.value)) is None for ts in entries)
    chicago = entries.tz_convert("America/Chicago")
    assert not (chicago.hour == 16).any()
    in_break = bars.index.tz_convert("America/Chicago").hour == 16
    if in_break.any():  # the file does hold bars in the break: none of them may see an entry
        assert not entries.isin(bars.index[in_break]).any()
