"""Regime, strategy and decision: one bar (live) and a frame (backtest) decide alike."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from trading.engine.decision import SignalDecision, decide, decide_frame
from trading.engine.features import efficiency_ratio
from trading.engine.incremental import FeatureEngine
from trading.engine.regime import REGIMES, RegimeConfig, classify
from trading.engine.strategies import STAND_ASIDE, STRATEGIES


def test_live_and_batch_decisions_agree_on_real_es(es_bars, es_features):
    batch = decide_frame(es_features, efficiency_ratio=efficiency_ratio(es_bars).to_numpy())
    engine = FeatureEngine()
    live = []
    for rec in es_bars.reset_index().to_dict("records"):
        row = engine.update(rec)
        d = decide(row, classify(row["efficiency_ratio"], row["volatility_regime"], engine.n))
        live.append((d.direction, d.label, d.regime, d.strategy))
    live_df = pd.DataFrame(live, columns=["direction", "label", "regime", "strategy"], index=es_bars.index)
    pd.testing.assert_frame_equal(live_df, batch, check_dtype=False)
    assert set(batch["regime"]) == set(REGIMES)
    assert set(batch["strategy"]) <= set(STRATEGIES)
    assert {1, -1, 0} == set(batch["direction"])
    assert (batch.loc[batch["strategy"] == STAND_ASIDE, "direction"] == 0).all()


def test_decision_is_json_friendly(es_features):
    row = es_features.iloc[500].to_dict() | {"ts": es_features.index[500]}
    d = decide(row, "trend")
    assert isinstance(d, SignalDecision)
    out = json.loads(json.dumps(d.to_dict()))
    assert out["ts"] == es_features.index[500].isoformat()
    assert out["label"] in {"STRONG_BUY", "BUY", "NEUTRAL", "SELL", "STRONG_SELL"}
    assert set(out["features"]) == set(es_features.columns) - {"confluence"}
    assert out["reasons"][0].startswith("confluence ")


def test_volatile_regime_stands_aside_and_trend_follows():
    row = {
        "confluence": 0.8,
        "support_resistance": 0.5,
        "market_structure": 0.7,
        "tick_momentum": 0.6,
        "vwap_trend": 0.7,
    }
    assert decide(row, "volatile").direction == 0
    d = decide(row, "trend")
    assert (d.direction, d.label, d.strategy) == (1, "STRONG_BUY", "trend_continuation")
    assert decide(dict(row, vwap_trend=0.3, market_structure=0.4), "trend").strategy == STAND_ASIDE


def test_regime_classifier_order_and_validation():
    assert classify(0.9, 0.95) == "volatile"
    assert classify(0.9, 0.5, bars_seen=3) == "transition"
    assert classify(0.5, 0.5) == "trend"
    assert classify(0.1, 0.5) == "range"
    assert classify(0.3, 0.5) == "transition"
    with pytest.raises(ValueError, match="range_er < trend_er"):
        RegimeConfig(trend_er=0.1, range_er=0.2)
