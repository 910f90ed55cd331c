"""Benchmarks of the feature engine, called by ``manage.py bench`` (DESIGN section 5 format)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from trading.engine import sessions
from trading.engine.decision import decide
from trading.engine.features import compute_features
from trading.engine.incremental import FeatureEngine
from trading.engine.loaders import load_bars
from trading.engine.regime import classify


def tile_bars(bars: pd.DataFrame, target: int) -> pd.DataFrame:
    """Repeat ``bars`` until ``target`` rows, for steady-state throughput. Each Globex session is
    moved by whole days onto consecutive business days from 2000-01-03, copy after copy, so times
    of day and session boundaries stay realistic and the index stays increasing."""
    sess = sessions.session_ids(sessions.local_ns(bars.index))
    uniq, pos = np.unique(sess, return_inverse=True)
    copies = -(-target // len(bars))
    days = pd.bdate_range("2000-01-03", periods=copies * len(uniq)).as_unit("ns").asi8 // sessions.NS_PER_DAY
    ts = bars.index.as_unit("ns").asi8
    parts = []
    for i in range(copies):
        shift = (days[pos + i * len(uniq)] - sess) * sessions.NS_PER_DAY
        parts.append(bars.set_axis(pd.DatetimeIndex(ts + shift, tz="UTC", name="ts")))
    return pd.concat(parts).iloc[:target]


def bench_features_batch(path: str | Path, *, target_bars: int = 1_000_000, repeat: int = 3) -> dict:
    """``compute_features`` throughput on the file tiled to ~1M bars (best of ``repeat``)."""
    bars = tile_bars(load_bars(path).bars, target_bars)
    compute_features(bars.iloc[:10_000])  # warm imports and caches
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        compute_features(bars)
        best = min(best, time.perf_counter() - t0)
    return {
        "name": "features_batch_bars_per_s",
        "value": round(len(bars) / best),
        "unit": "bars/s",
        "target": 500_000,
        "better": "higher",
        "detail": f"{len(bars):,} bars (tiled {Path(path).name}) in {best:.3f} s, best of {repeat}",
    }


def bench_engine_bar_p99(path: str | Path, *, max_bars: int = 20_000) -> dict:
    """p99 latency of one bar through features + confluence + regime + strategy decision."""
    bars = load_bars(path).bars.iloc[:max_bars]
    records = bars.reset_index().to_dict("records")
    engine = FeatureEngine()
    lat = np.empty(len(records))
    clock = time.perf_counter_ns
    for i, rec in enumerate(records):
        t0 = clock()
        row = engine.update(rec)
        decide(row, classify(row["efficiency_ratio"], row["volatility_regime"], engine.n))
        lat[i] = clock() - t0
    p99 = float(np.percentile(lat, 99)) / 1e3
    return {
        "name": "engine_bar_p99_us",
        "value": round(p99, 1),
        "unit": "us",
        "target": 200,
        "better": "lower",
        "detail": f"{len(records):,} bars of {Path(path).name}; median {np.median(lat) / 1e3:.1f} us, "
        f"max {lat.max() / 1e3:.1f} us",
    }
