"""Ensemble configuration rules and its calibrated, deterministic fit."""

from __future__ import annotations

import numpy as np
import pytest

from mlfilter.ml.ensemble import EnsembleConfig, EnsembleModel
from tests.mlfilter.conftest import synthetic_table


def test_default_config_is_the_design_ensemble():
    cfg = EnsembleConfig()
    assert cfg.weights == {"logistic": 0.30, "forest": 0.35, "xgboost": 0.35}
    assert (cfg.threshold, cfg.rf_trees, cfg.xgb_trees, cfg.n_jobs) == (0.65, 100, 100, 1)


@pytest.mark.parametrize("bad", [
    {"weights": {"logistic": 0.5, "forest": 0.5, "xgboost": 0.5}},
    {"weights": {"logistic": 0.5, "forest": 0.5}},
    {"weights": {"logistic": 1.2, "forest": -0.1, "xgboost": -0.1}},
    {"threshold": 1.0},
    {"calibration": "beta"},
])
def test_invalid_configs_are_refused(bad):
    with pytest.raises(ValueError):
        EnsembleConfig(**bad)


def test_fit_is_deterministic_and_calibrated_on_the_last_part_of_the_training_window():
    x, y = synthetic_table(800)
    cfg = EnsembleConfig(rf_trees=20, xgb_trees=20)
    a, b = EnsembleModel(cfg).fit(x, y), EnsembleModel(cfg).fit(x, y)
    probe = np.random.default_rng(4).random((200, 13))
    np.testing.assert_array_equal(a.predict_proba(probe), b.predict_proba(probe))
    assert a.meta["n_fit"] == 640 and a.meta["n_calibration"] == 160
    assert all(c.kind == "sigmoid" for c in a.calibrators.values())
    p = a.predict_proba(x)
    assert p.min() > 0 and p.max() < 1 and a.passes(x).dtype == bool
    assert abs(sum(a.feature_importances().values()) - 1.0) < 1e-3


def test_isotonic_calibration_is_available():
    x, y = synthetic_table(600, seed=3)
    model = EnsembleModel(EnsembleConfig(rf_trees=10, xgb_trees=10, calibration="isotonic")).fit(x, y)
    assert {c.kind for c in model.calibrators.values()} == {"isotonic"}


def test_the_pure_core_imports_no_django():
    import subprocess
    import sys

    code = ("import sys, mlfilter.ml.training, mlfilter.ml.fast_inference, mlfilter.ml.artifacts; "
            "print(any(m.startswith('django') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
