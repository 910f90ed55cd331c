"""sma_cross semantics on a hand-made series, and the metrics against empyrical."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trading.engine.backtest import BacktestConfig, fold_bounds, run_backtest, walk_forward
from trading.engine.metrics import compute_metrics, daily_returns, json_safe, max_drawdown, sharpe, sortino


def hand_bars(closes: list[float]) -> pd.DataFrame:
    c = 4800.0 + np.asarray(closes, dtype=float)
    o = np.r_[c[0], c[:-1] + 0.25]
    idx = pd.date_range("2024-01-10 15:00", periods=len(c), freq="1min", tz="UTC", name="ts")
    return pd.DataFrame({"open": o, "high": np.maximum(o, c) + 0.5, "low": np.minimum(o, c) - 0.5, "close": c,
                         "volume": 100.0}, index=idx)


def test_sma_cross_exact_trades():
    # fast=2, slow=3 SMAs of close (offsets from 4800):
    # t: 0   1   2   3    4    5    6    7    8    9    10   11
    # c: 10  10  10  11   12   11   9    8    9    11   12   12
    # f: -   10  10  10.5 11.5 11.5 10   8.5  8.5  10   11.5 12
    # s: -   -   10  10.33 11  11.33 10.67 9.33 8.67 9.33 10.67 11.67
    # up at 3 (f2 == s2 counts as <=), down at 6, up at 9; fills at the next open (= previous close + 0.25)
    bars = hand_bars([10, 10, 10, 11, 12, 11, 9, 8, 9, 11, 12, 12])
    result = run_backtest(bars, BacktestConfig(strategy="sma_cross", fast=2, slow=3))
    t = result.trades
    idx = bars.index
    assert list(t["side"]) == ["LONG", "SHORT", "LONG"]
    assert list(t["entry_time"]) == [idx[4], idx[7], idx[10]]
    assert list(t["exit_time"]) == [idx[7], idx[10], idx[11]]
    assert list(t["entry_price"]) == [4811.25, 4809.25, 4811.25]
    assert list(t["exit_price"]) == [4809.25, 4811.25, 4812.0]
    assert list(t["pnl_usd"]) == [-100.0, -100.0, 37.5]
    assert list(t["qty"]) == [1, 1, 1] and t["commission_usd"].sum() == 0
    assert list(t["exit_reason"]) == ["reversal", "reversal", "end_of_data"]
    assert result.equity.iloc[-1] == pytest.approx(50_000 - 162.5)
    assert result.equity.iloc[:5].tolist() == [50_000.0] * 4 + [50_000 + 0.75 * 50]  # long from open[4] to close[4]


def test_sma_cross_no_cross_no_trade_and_last_bar_cross_ignored():
    flat = run_backtest(hand_bars([5] * 10), BacktestConfig(strategy="sma_cross", fast=2, slow=3))
    assert flat.metrics["trades"] == 0 and flat.equity.iloc[-1] == 50_000
    # the only cross happens on the last bar: it would fill after the data ends, so nothing trades
    late = run_backtest(hand_bars([5, 5, 5, 5, 9]), BacktestConfig(strategy="sma_cross", fast=2, slow=3))
    assert late.metrics["trades"] == 0


def test_walk_forward_folds_cover_the_bars():
    bars = hand_bars([10, 10, 10, 11, 12, 11, 9, 8, 9, 11, 12, 12])
    assert fold_bounds(12, 3) == [(0, 4), (4, 8), (8, 12)]
    folds = walk_forward(bars, BacktestConfig(strategy="sma_cross", fast=2, slow=3), 3)
    assert [f.bars for f in folds] == [4, 4, 4]
    with pytest.raises(ValueError):
        fold_bounds(3, 5)


# ---------------------------------------------------------------- metrics


def daily_equity() -> tuple[pd.Series, float]:
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2024-01-02", periods=120, tz="UTC") + pd.Timedelta(hours=15)
    start = 50_000.0
    equity = start * np.cumprod(1 + rng.normal(0.0005, 0.01, len(days)))
    return pd.Series(equity, index=days), start


def test_metrics_match_empyrical():
    empyrical = pytest.importorskip("empyrical", reason="empyrical-reloaded is a test-only dependency")
    equity, start = daily_equity()
    rets = daily_returns(equity, start)
    ref = pd.Series(np.r_[equity.iloc[0] / start, (equity / equity.shift(1)).iloc[1:]] - 1, index=equity.index)
    np.testing.assert_allclose(rets.to_numpy(), ref.to_numpy(), rtol=1e-12)
    assert sharpe(rets.to_numpy()) == pytest.approx(empyrical.sharpe_ratio(ref), rel=1e-9)
    assert sortino(rets.to_numpy()) == pytest.approx(empyrical.sortino_ratio(ref), rel=1e-9)
    dd_pct, dd_usd = max_drawdown(equity.to_numpy(), start)
    assert dd_pct / 100 == pytest.approx(-empyrical.max_drawdown(ref), rel=1e-9)
    peak = np.maximum.accumulate(np.r_[start, equity.to_numpy()])[1:]
    assert dd_usd == pytest.approx((peak - equity.to_numpy()).max())


def test_trade_metrics_by_hand():
    equity = pd.Series([50_000.0, 50_100.0, 49_900.0, 50_150.0],
                       index=pd.DatetimeIndex(["2024-01-10 15:00", "2024-01-11 15:00", "2024-01-12 15:00",
                                               "2024-01-16 15:00"], tz="UTC"))
    m = compute_metrics(np.array([100.0, -200.0, 250.0]), equity, 50_000.0)
    assert m["trades"] == 3 and m["win_rate"] == pytest.approx(2 / 3)
    assert m["gross_profit_usd"] == 350.0 and m["gross_loss_usd"] == -200.0 and m["net_pnl_usd"] == 150.0
    assert m["profit_factor"] == pytest.approx(1.75) and m["expectancy_usd"] == pytest.approx(50.0)
    assert m["max_drawdown_usd"] == 200.0 and m["max_drawdown_pct"] == pytest.approx(200 / 50_100 * 100)
    assert m["trades_per_day"] == pytest.approx(3 / 4)
    no_loss = compute_metrics(np.array([10.0]), equity, 50_000.0)
    assert math.isinf(no_loss["profit_factor"]) and json_safe(no_loss)["profit_factor"] is None
