"""Benchmarks of the ML filter on the real ES file (``manage.py bench`` collects them).

``ml_inference_p99_ms`` is what the trading cycle pays per signal: one row through the numpy fast path
(target 1 ms). The scikit-learn path is timed too, for the record of why the fast path exists.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.fast_inference import FastEnsemble
from mlfilter.ml.training import BarSet, TrainConfig, train
from trading.engine.loaders import load_bars

__all__ = ["bench_ml_inference", "bench_ml_training"]


def _train(path: str | Path, min_samples: int = 1000):
    bars = load_bars(path).bars
    started = time.perf_counter()
    result = train([BarSet(bars=bars, name=Path(path).name)], config=TrainConfig(min_samples=min_samples))
    return result, time.perf_counter() - started, len(bars)


def _p99_ms(fn, rows: np.ndarray, n: int) -> float:
    times = np.empty(n)
    for i in range(n):
        r = rows[i % len(rows)]
        t0 = time.perf_counter()
        fn(r)
        times[i] = time.perf_counter() - t0
    return float(np.percentile(times, 99) * 1e3)


def bench_ml_inference(path: str | Path, *, n: int = 10_000, n_sklearn: int = 300) -> dict[str, Any]:
    """p99 latency of one-signal ensemble inference (fast path), trained once on ``path``."""
    result, _, _ = _train(path)
    fast = FastEnsemble(result.model)
    rows = result.dataset[list(FEATURES)].to_numpy(np.float64)
    for r in rows[:200]:
        fast.confidence(r)  # warm caches before timing
    p99 = _p99_ms(fast.confidence, rows, n)
    lib = _p99_ms(lambda r: result.model.predict_proba(r[None, :]), rows, n_sklearn)
    diff = float(np.abs(fast.confidence_many(rows[:500]) - result.model.predict_proba(rows[:500])).max())
    return {"name": "ml_inference_p99_ms", "value": round(p99, 4), "unit": "ms", "target": 1.0, "better": "lower",
            "detail": {"calls": n, "sklearn_path_p99_ms": round(lib, 3), "sklearn_calls": n_sklearn,
                       "max_abs_diff_vs_sklearn": diff, "file": Path(path).name}}


def bench_ml_training(path: str | Path) -> dict[str, Any]:
    """Wall time of a full ``train`` (features, labels, 5-fold walk-forward, final fit) on ``path``."""
    result, elapsed, n_bars = _train(path)
    s = result.summary()
    return {"name": "ml_training_s", "value": round(elapsed, 3), "unit": "s", "target": 60, "better": "lower",
            "detail": {"bars": n_bars, "samples": s["samples"], "folds": s["folds"], "oos_auc": s["auc"],
                       "file": Path(path).name}}
