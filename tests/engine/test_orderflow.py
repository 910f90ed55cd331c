"""Aggressor classification: tick rule, quote rule and the bar delta estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading.engine.orderflow import BarDeltaState, bar_delta, quote_rule, tick_rule


def test_tick_rule_carries_the_last_direction_through_unchanged_prices():
    prices = np.array([100.0, 100.0, 100.25, 100.25, 100.0, 100.0, 100.5])
    assert tick_rule(prices).tolist() == [0, 0, 1, 1, -1, -1, 1]


def test_quote_rule_uses_the_mid_and_falls_back_to_ticks():
    prices = np.array([100.0, 100.25, 100.125, 100.25])
    bid = np.array([99.75, 100.0, 100.0, np.nan])
    ask = np.array([100.0, 100.25, 100.25, np.nan])
    assert quote_rule(prices, bid, ask).tolist() == [1, 1, -1, 1]  # at the mid: tick rule (down)
    assert quote_rule(
        np.array([100.0, 99.75]), np.array([100.0, 99.75]), np.array([100.25, 100.0])
    ).tolist() == [-1, -1]


def test_bar_delta_incremental_matches_batch_and_is_bounded_by_volume(es_bars):
    head = es_bars.iloc[:3000]
    batch = bar_delta(head)
    state = BarDeltaState()
    inc = [
        state.update(r.high, r.low, r.close, r.volume, r.bid, r.ask, None, None) for r in head.itertuples()
    ]
    np.testing.assert_array_equal(np.array(inc), batch)
    assert (np.abs(batch) <= head["volume"].to_numpy()).all()


def test_bar_delta_uses_buy_and_sell_volume_when_present():
    bars = pd.DataFrame(
        {
            "open": [1.0],
            "high": [2.0],
            "low": [1.0],
            "close": [1.0],
            "volume": [10.0],
            "buy_volume": [7.0],
            "sell_volume": [2.0],
        }
    )
    assert bar_delta(bars).tolist() == [5.0]
