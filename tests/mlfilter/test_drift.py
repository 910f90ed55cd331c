"""Drift: PSI near zero on the same distribution, past the alert threshold on a shifted one."""

from __future__ import annotations

import numpy as np

from mlfilter.ml.drift import drift_baseline, drift_report, psi

NAMES = ("a", "b")


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    train = rng.normal(0.5, 0.1, 5000)
    assert psi(train, rng.normal(0.5, 0.1, 2000)) < 0.05
    assert psi(train, rng.normal(0.65, 0.1, 2000)) > 0.25


def test_report_alerts_on_the_shifted_feature_only():
    rng = np.random.default_rng(1)
    train = rng.random((4000, 2))
    base = drift_baseline(train, NAMES, y=(rng.random(4000) < 0.3).astype(int))
    same = drift_report(base, rng.random((500, 2)), NAMES)
    assert not same["alert"] and same["max_psi"] < 0.1
    live = np.column_stack([rng.random(500), rng.random(500) ** 3])  # b piles up near 0
    shifted = drift_report(base, live, NAMES)
    assert shifted["alert"] and shifted["drifted_features"] == ["b"] and shifted["psi"]["a"] < 0.1


def test_hit_rate_collapse_alerts_even_when_inputs_look_stable():
    rng = np.random.default_rng(2)
    train = rng.random((2000, 2))
    base = drift_baseline(train, NAMES, y=(rng.random(2000) < 0.4).astype(int))
    outcomes = np.r_[np.ones(20), np.zeros(50)]
    report = drift_report(base, rng.random((300, 2)), NAMES, live_outcomes=outcomes, hit_window=50)
    assert report["hit_rate"]["rolling"] == 0.0 and report["hit_rate"]["alert"] and report["alert"]
    few = drift_report(base, rng.random((300, 2)), NAMES, live_outcomes=np.zeros(5), hit_window=50)
    assert not few["hit_rate"]["alert"]  # too few outcomes to judge
