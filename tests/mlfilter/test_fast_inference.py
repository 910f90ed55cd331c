"""The numpy fast path gives the libraries' probabilities (to 1e-6) on real signals, well under 1 ms."""

from __future__ import annotations

import time

import numpy as np
import pytest

from mlfilter.ml.dataset import FEATURES, design_matrix
from mlfilter.ml.fast_inference import FastEnsemble

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_rows(es_training) -> np.ndarray:
    return es_training.dataset[list(FEATURES)].to_numpy(np.float64)


def test_fast_path_equals_library_predict_proba_on_real_rows(es_training, real_rows):
    model = es_training.model
    fast = FastEnsemble(model)
    z = design_matrix(real_rows)
    lib_members = {
        "logistic": model.logistic.predict_proba(model.scaler.transform(z))[:, 1],
        "forest": model.forest.predict_proba(z)[:, 1],
        "xgboost": model.xgboost.predict_proba(z)[:, 1],
    }
    calibrated = model.member_proba(real_rows)
    fast_members = np.array([fast.members(r) for r in real_rows])
    for j, name in enumerate(("logistic", "forest", "xgboost")):
        assert np.abs(fast_members[:, j] - calibrated[name]).max() <= 1e-6, name
        assert np.abs(model.calibrators[name].apply(lib_members[name]) - calibrated[name]).max() == 0.0
    assert np.abs(fast.confidence_many(real_rows) - model.predict_proba(real_rows)).max() <= 1e-6
    assert len(model.forest.estimators_) == 100 and model.xgboost.n_estimators == 100


def test_missing_values_follow_xgboost_default_direction(es_training, real_rows):
    model = es_training.model
    fast = FastEnsemble(model)
    rows = real_rows[:50].copy()
    rows[:, 1] = np.nan  # volume_imbalance missing (never mirrored into a number)
    z = design_matrix(rows)
    lib = model.calibrators["xgboost"].apply(model.xgboost.predict_proba(z)[:, 1])
    got = np.array([fast.members(r)[2] for r in rows])
    assert np.abs(got - lib).max() <= 1e-6


def test_single_signal_p99_is_under_a_millisecond(es_training, real_rows):
    fast = FastEnsemble(es_training.model)
    times = []
    for i in range(3000):
        t0 = time.perf_counter()
        fast.confidence(real_rows[i % len(real_rows)])
        times.append(time.perf_counter() - t0)
    assert np.percentile(times, 99) < 1e-3
