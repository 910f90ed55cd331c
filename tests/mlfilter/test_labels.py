"""Triple-barrier labels on hand-made bars whose outcome is known (fills as in trading.engine.fills)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlfilter.ml.labels import BarrierConfig, triple_barrier_labels

T0 = pd.Timestamp("2024-01-02 14:30", tz="UTC")
FLAT = (100.0, 101.0, 99.5, 100.5)  # entry bar: open 100 -> long entry 100.25 (1 tick slippage)


def bars(*rows: tuple[float, float, float, float]) -> pd.DataFrame:
    idx = pd.date_range(T0, periods=len(rows), freq="1min", name="ts")
    o, h, lo, c = zip(*rows, strict=True)
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": 100.0}, index=idx)


def label(b: pd.DataFrame, side: int = 1, **cfg) -> pd.DataFrame:
    # signal at bar 0, ATR 1.0: stop 2 points from the entry, target 2 R = 4 points
    return triple_barrier_labels(b, np.array([0]), np.array([side]), np.ones(len(b)), BarrierConfig(**cfg))


def test_target_first_is_a_win_with_net_pnl():
    out = label(bars((100, 100, 100, 100), FLAT, (101, 104.5, 100.5, 104)))
    r = out.iloc[0]
    assert (r.y, r.exit_reason, r.entry_price, r.stop, r.target, r.exit_price) == (1, "target", 100.25, 98.25,
                                                                                   104.25, 104.25)
    assert r.pnl_usd == pytest.approx(4.0 * 50 - 2 * 2.50)
    assert r.pnl_r == pytest.approx(195 / 100)
    assert r.t_signal == T0 + pd.Timedelta(minutes=1)
    assert r.t_entry == T0 + pd.Timedelta(minutes=1)
    assert r.t_outcome == T0 + pd.Timedelta(minutes=3)  # end of the exit bar: when the outcome is known


def test_touching_the_target_without_trading_through_is_not_a_fill():
    out = label(bars((100, 100, 100, 100), FLAT, (101, 104.25, 100.5, 104), (104, 104.5, 103, 104)))
    assert out.iloc[0].t_outcome == T0 + pd.Timedelta(minutes=4)


def test_stop_first_is_a_loss():
    r = label(bars((100, 100, 100, 100), FLAT, (100.5, 101, 98, 98.5))).iloc[0]
    assert (r.y, r.exit_reason, r.exit_price) == (0, "stop", 98.25)
    assert r.pnl_usd == pytest.approx(-2.0 * 50 - 5.0)


def test_both_legs_in_one_bar_counts_the_stop():
    r = label(bars((100, 100, 100, 100), FLAT, (100.5, 105, 98, 104))).iloc[0]
    assert (r.y, r.exit_reason, r.exit_price) == (0, "stop", 98.25)


def test_gap_through_the_stop_fills_at_the_open():
    r = label(bars((100, 100, 100, 100), FLAT, (97, 97.5, 96.5, 97))).iloc[0]
    assert (r.exit_reason, r.exit_price) == ("stop", 97.0)


def test_time_out_exits_at_the_next_open_and_is_labelled_zero_by_default():
    quiet = [(100, 100, 100, 100), FLAT, FLAT, FLAT, (101, 101.5, 100.5, 101)]
    r = label(bars(*quiet), time_limit=3).iloc[0]
    assert (r.y, r.exit_reason, r.bars_held) == (0, "time", 4)
    assert r.exit_price == 100.75  # market sell at the open 101 minus one tick
    assert r.pnl_usd == pytest.approx(0.5 * 50 - 5.0)
    assert r.t_outcome == T0 + pd.Timedelta(minutes=4)
    assert label(bars(*quiet), time_limit=3, timeout_label="pnl_sign").iloc[0].y == 1


def test_short_signal_mirrors_the_barriers():
    r = label(bars((100, 100, 100, 100), FLAT, (99, 99.5, 95.5, 96)), side=-1).iloc[0]
    assert (r.entry_price, r.stop, r.target, r.y, r.exit_price) == (99.75, 101.75, 95.75, 1, 95.75)
    assert r.pnl_usd == pytest.approx(4.0 * 50 - 5.0)


def test_a_data_gap_ends_the_trade_at_the_last_close_before_it():
    b = bars((100, 100, 100, 100), FLAT, (100.5, 101, 100, 101), (101, 101.5, 100.5, 101), (103, 104, 102, 103))
    b.index = b.index[:3].append(b.index[3:] + pd.Timedelta(hours=2))  # session break after bar 2
    r = label(b).iloc[0]
    assert (r.exit_reason, r.exit_price, r.y) == ("gap", 100.75, 0)  # close 101 minus one tick
    assert r.t_outcome == T0 + pd.Timedelta(minutes=3)
    assert label(b.iloc[[0, 3, 4]]).empty  # no entry across a gap


def test_unknown_outcomes_are_not_labelled():
    assert label(bars((100, 100, 100, 100))).empty  # no entry bar
    assert label(bars((100, 100, 100, 100), FLAT, FLAT), time_limit=5).empty  # time barrier past the data


def test_dataset_rows_are_engine_signals_with_features(es_bars):
    from mlfilter.ml.dataset import FEATURES, build_dataset

    table = build_dataset(es_bars.iloc[:4000])
    assert list(table.columns[: len(FEATURES)]) == list(FEATURES)
    assert len(table) > 100 and set(table["y"].unique()) <= {0, 1}
    assert (table["t_entry"] > table.index).all() and (table["t_outcome"] > table["t_entry"]).all()
    assert set(table["exit_reason"]) <= {"stop", "target", "time", "gap"}
