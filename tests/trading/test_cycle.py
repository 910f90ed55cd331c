"""The live cycle: one Signal per bar, equal to the batch engine, robust to repeats and restarts."""

from unittest import mock

import numpy as np
import pandas as pd
import pytest

from tests.shared_data import shared_data
from trading.engine.features import FEATURE_COLUMNS, compute_features
from trading.engine.loaders import load_bars
from trading.engine.runner import Decision
from trading.live import cycle
from trading.models import Bar, Signal, StrategyConfig

N_BARS = 400


@pytest.fixture
def stored_bars(db):
    bars = load_bars(shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv").bars.iloc[:N_BARS]
    rows = [Bar(symbol="ES", ts=ts.to_pydatetime(), open=r.open, high=r.high, low=r.low, close=r.close,
                volume=r.volume, buy_volume=0, sell_volume=0, source="replay") for ts, r in bars.iterrows()]
    Bar.objects.bulk_create(rows)
    cycle.reset_engines()
    with mock.patch.object(cycle, "latest_dealer_bias", return_value=None):
        yield list(Bar.objects.order_by("ts"))
    cycle.reset_engines()


def _batch(bars: list[Bar]) -> pd.DataFrame:
    frame = pd.DataFrame([cycle._bar_input(b) for b in bars]).set_index("ts")
    frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC")
    return compute_features(frame.astype(float))


def test_each_bar_gets_one_signal_equal_to_the_batch_engine(stored_bars):
    for bar in stored_bars:
        cycle.run_cycle(bar=bar)
    signals = list(Signal.objects.order_by("ts"))
    assert len(signals) == N_BARS
    batch = _batch(stored_bars)
    live = pd.DataFrame([s.features for s in signals], index=batch.index)
    assert np.allclose(live[list(FEATURE_COLUMNS)].to_numpy(), batch[list(FEATURE_COLUMNS)].to_numpy(), atol=1e-9)
    assert np.allclose([s.confluence for s in signals], batch["confluence"].to_numpy(), atol=1e-9)
    assert {s.label for s in signals} <= {"STRONG_BUY", "BUY", "NEUTRAL", "SELL", "STRONG_SELL"}
    assert all(s.reasons for s in signals)


def test_a_repeated_task_stores_nothing_twice(stored_bars):
    first = stored_bars[0]
    assert cycle.run_cycle(bar=first) is not None
    assert cycle.run_cycle(bar=first) is None
    assert Signal.objects.filter(bar=first).count() == 1


def test_a_cold_worker_rebuilds_from_stored_bars_and_agrees(stored_bars):
    for bar in stored_bars[:250]:
        cycle.run_cycle(bar=bar)
    cycle.reset_engines()  # the worker restarts
    for bar in stored_bars[250:]:
        cycle.run_cycle(bar=bar)
    batch = _batch(stored_bars)
    live = [s.confluence for s in Signal.objects.order_by("ts")]
    assert np.allclose(live, batch["confluence"].to_numpy(), atol=1e-9)


def test_a_config_edit_applies_from_the_next_bar(stored_bars):
    for bar in stored_bars[:300]:
        cycle.run_cycle(bar=bar)
    config = StrategyConfig.load()
    config.w_vwap_trend, config.w_dealers_bias = 0.05, 0.20
    config.save()
    nxt = cycle.run_cycle(bar=stored_bars[300])
    f = nxt.features
    expected = sum(w * f[name] for name, w in config.weights().items())
    assert nxt.confluence == pytest.approx(expected, abs=1e-12)


def _candidate_bar_with_model(bars, *, confidence: float, version: str, threshold: float, enforcing: bool):
    """Run bar 300 as a BUY candidate scored by a (mocked) deployed model; returns the runner's mock."""
    from mlfilter import inference
    from trading import tasks

    for bar in bars[:300]:
        cycle.run_cycle(bar=bar)
    real_decide = cycle.decide
    with mock.patch.object(inference, "score", return_value=(confidence, version)), \
            mock.patch.object(inference, "current_threshold", return_value=threshold), \
            mock.patch.object(inference, "enforcing", return_value=enforcing), \
            mock.patch.object(cycle, "decide", side_effect=lambda *a, **k: _force_direction(real_decide(*a, **k))), \
            mock.patch("trading.live.execution.StrategyRunner._enter", return_value=Decision()) as enter:
        tasks.on_bar(bars[300].pk)
    return enter


def test_the_ml_filter_verdict_is_stored_and_a_filtered_signal_sends_no_order(stored_bars):
    from trading.models import OrderIntent

    consider_entry = _candidate_bar_with_model(stored_bars, confidence=0.21, version="mlf-test", threshold=0.65,
                                               enforcing=True)
    signal = Signal.objects.get(bar=stored_bars[300])
    assert (signal.ml_confidence, signal.model_version, signal.ml_passed) == (0.21, "mlf-test", False)
    assert any("ML filter" in r for r in signal.reasons)
    consider_entry.assert_not_called()
    assert not OrderIntent.objects.exists()


def test_a_model_trained_on_simulated_data_scores_but_does_not_block(stored_bars):
    consider_entry = _candidate_bar_with_model(stored_bars, confidence=0.21, version="mlf-sim", threshold=0.35,
                                               enforcing=False)
    signal = Signal.objects.get(bar=stored_bars[300])
    assert (signal.ml_confidence, signal.model_version, signal.ml_passed) == (0.21, "mlf-sim", None)
    assert any("advisory" in r and "would block" in r for r in signal.reasons)
    consider_entry.assert_called_once()


def _force_direction(decision):
    decision.direction = 1
    return decision
