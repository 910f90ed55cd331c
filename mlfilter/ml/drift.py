"""Is the live signal population still the one the model was trained on?

Population stability index per feature: bins are fixed from the *training* quantiles (so a shift
shows as mass moving between bins; bins re-cut on live data would hide it) and stored in the model
manifest as a baseline, so checking drift never needs the training data again. PSI rules of thumb:
< 0.1 stable, 0.1-0.25 moderate, > 0.25 a real shift (the default alert threshold).

The rolling live hit rate (targets reached / outcomes known) is compared with the rate the model
expected for the same signals (the mean of its confidences, or the training base rate): a model whose
inputs look stable but whose hit rate collapses has lost its edge for reasons PSI cannot see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["drift_baseline", "drift_report", "psi"]

_FLOOR = 1e-4  # an empty bin would make PSI infinite; a small floor keeps it finite and comparable


def _edges(train: np.ndarray, bins: int) -> np.ndarray:
    """Interior cut points at the training quantiles (duplicates from ties removed)."""
    q = np.quantile(train[np.isfinite(train)], np.linspace(0, 1, bins + 1)[1:-1]) if len(train) else np.array([])
    return np.unique(q)


def _shares(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    x = x[np.isfinite(x)]
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1).astype(np.float64)
    return counts / counts.sum() if counts.sum() > 0 else counts


def _psi_from(expected: np.ndarray, actual: np.ndarray) -> float:
    e, a = np.maximum(expected, _FLOOR), np.maximum(actual, _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(train: np.ndarray, live: np.ndarray, bins: int = 10) -> float:
    """PSI of ``live`` against ``train`` for one feature, with bins from the training quantiles."""
    train, live = np.asarray(train, np.float64), np.asarray(live, np.float64)
    edges = _edges(train, bins)
    return _psi_from(_shares(train, edges), _shares(live, edges))


def drift_baseline(train: np.ndarray, features: Sequence[str], *, y: np.ndarray | None = None,
                   bins: int = 10) -> dict[str, Any]:
    """What ``drift_report`` needs from training: per-feature bin edges and shares, and the base hit rate."""
    train = np.asarray(train, np.float64)
    out: dict[str, Any] = {"bins": bins, "samples": int(len(train)), "features": {}}
    for j, name in enumerate(features):
        edges = _edges(train[:, j], bins)
        out["features"][name] = {"edges": edges.tolist(), "shares": _shares(train[:, j], edges).tolist()}
    if y is not None and len(y):
        out["hit_rate"] = float(np.mean(y))
    return out


def drift_report(baseline: Mapping[str, Any], live: np.ndarray, features: Sequence[str], *,
                 live_outcomes: np.ndarray | None = None, expected_hit_rate: float | None = None,
                 psi_threshold: float = 0.25, hit_window: int = 50, hit_drop: float = 0.5) -> dict[str, Any]:
    """PSI per feature for the ``live`` rows and the rolling hit rate; ``alert`` when anything passes its limit.

    ``live_outcomes``: 1/0 per resolved live signal in time order. The hit-rate alert fires when the last
    ``hit_window`` outcomes hit less than ``hit_drop`` x the expected rate (model confidences' mean when
    given as ``expected_hit_rate``, else the training base rate).
    """
    live = np.asarray(live, np.float64)
    if live.ndim != 2 or live.shape[1] != len(features):
        raise ValueError(f"live must be an (n, {len(features)}) matrix")
    values: dict[str, float] = {}
    for j, name in enumerate(features):
        ref = baseline["features"].get(name)
        if ref is None:
            continue
        edges = np.asarray(ref["edges"], np.float64)
        values[name] = round(_psi_from(np.asarray(ref["shares"]), _shares(live[:, j], edges)), 6)
    drifted = sorted(k for k, v in values.items() if v > psi_threshold)
    report: dict[str, Any] = {
        "live_samples": int(len(live)),
        "psi": values,
        "max_psi": max(values.values()) if values else 0.0,
        "psi_threshold": psi_threshold,
        "drifted_features": drifted,
        "psi_alert": bool(drifted) and len(live) > 0,
    }
    expected = expected_hit_rate if expected_hit_rate is not None else baseline.get("hit_rate")
    hit: dict[str, Any] = {"expected": expected, "window": hit_window, "rolling": None, "overall": None,
                           "outcomes": 0, "alert": False}
    if live_outcomes is not None and len(live_outcomes):
        o = np.asarray(live_outcomes, np.float64)
        recent = o[-hit_window:]
        hit.update(outcomes=int(len(o)), overall=float(o.mean()), rolling=float(recent.mean()))
        # only judge a full window: five outcomes saying nothing is not an alarm
        hit["alert"] = bool(expected is not None and len(recent) >= hit_window and recent.mean() < hit_drop * expected)
    report["hit_rate"] = hit
    report["alert"] = bool(report["psi_alert"] or hit["alert"])
    return report
