"""``train``: walk-forward scores, the final model with its manifest metadata, and the sample floor."""

from __future__ import annotations

import pytest

from mlfilter.ml.training import SUMMARY_KEYS, BarSet, NotEnoughSamples, TrainConfig, train

pytestmark = pytest.mark.realdata


def test_training_on_real_es_reports_out_of_sample_scores(es_training):
    s = es_training.summary()
    assert tuple(s) == SUMMARY_KEYS
    assert s["folds"] == 5 and s["samples"] >= 1000
    assert 0.0 <= s["auc"] <= 1.0 and 0.0 <= s["brier"] <= 1.0
    assert set(s["filtered"]) == set(s["unfiltered"]) == {"trades", "profit_factor", "expectancy_usd"}
    assert s["unfiltered"]["trades"] == sum(f["n"] for f in es_training.per_fold)
    meta = es_training.model.meta
    assert meta["samples"]["train"] + meta["samples"]["validation"] <= s["samples"]
    assert len(meta["data_hash"]) == 64 and meta["training_window"]["end"] < es_training.validation["start"]


def test_too_few_samples_is_refused_with_a_clear_message(es_bars):
    seen = []
    with pytest.raises(NotEnoughSamples, match="need at least 1000"):
        train([BarSet(bars=es_bars.iloc[:3000], name="slice")], config=TrainConfig(),
              progress=lambda f, m: seen.append((f, m)))
    assert seen and seen[0][0] == 0.0
