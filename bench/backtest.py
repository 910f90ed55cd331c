"""Backtest benchmarks for ``manage.py bench`` (DESIGN section 5 names and targets).

Speeds are measured on the real ES minute file after it is loaded (file parsing is the loader's
benchmark, not ours) and include everything the backtest does: features and decisions for
confluence, signals for sma_cross, the simulation and the metrics. Best of several runs, one core.

Memory runs in a fresh subprocess so earlier allocations cannot hide or inflate it: the real file is
tiled to 1,000,000 bars laid on consecutive CME trading minutes (Sunday 17:00 to Friday 16:00
Chicago, skipping the daily 16:00-17:00 break) from 2021-01-03, then backtested with confluence.
The value is the subprocess's peak RSS (``ru_maxrss``), interpreter and input frame included.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trading.engine.backtest import BacktestConfig, run_backtest
from trading.engine.loaders import load_bars


def _best_rate(bars: pd.DataFrame, config: BacktestConfig, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run_backtest(bars, config)
        best = min(best, time.perf_counter() - started)
    return len(bars) / best, result


def bench_backtest_confluence(path: Path, *, repeats: int = 5) -> dict:
    bars = load_bars(path).bars
    rate, result = _best_rate(bars, BacktestConfig(strategy="confluence"), repeats)
    return {"name": "backtest_confluence_bars_per_s", "value": round(rate), "unit": "bars/s", "target": 100_000,
            "better": "higher",
            "detail": f"{len(bars)} real ES minute bars ({Path(path).name}), confluence without ML, best of {repeats}; "
                      f"features + decisions + event loop + metrics, load excluded; {result.metrics['trades']} trades"}


def bench_backtest_sma(path: Path, *, repeats: int = 20) -> dict:
    bars = load_bars(path).bars
    rate, result = _best_rate(bars, BacktestConfig(strategy="sma_cross", fast=10, slow=30), repeats)
    return {"name": "backtest_sma_bars_per_s", "value": round(rate), "unit": "bars/s", "target": 300_000,
            "better": "higher",
            "detail": f"{len(bars)} real ES minute bars ({Path(path).name}), sma_cross 10/30 (vectorized), best of "
                      f"{repeats}; signals + simulation + metrics, load excluded; {result.metrics['trades']} trades"}


def trading_minutes(n: int, start: str = "2021-01-03") -> pd.DatetimeIndex:
    """The first ``n`` CME Globex minutes (UTC bar starts) from ``start``; holidays are not skipped."""
    out: list[pd.DatetimeIndex] = []
    got, begin = 0, pd.Timestamp(start, tz="America/Chicago")
    while got < n:
        span = pd.date_range(begin, periods=2 * n, freq="1min")
        wd, hour = span.weekday, span.hour
        open_ = ~((wd == 5) | ((wd == 6) & (hour < 17)) | ((wd == 4) & (hour >= 16)) | (hour == 16))
        keep = span[open_][: n - got]
        out.append(keep)
        got += len(keep)
        begin = span[-1] + pd.Timedelta(minutes=1)
    return out[0].append(out[1:]).tz_convert("UTC") if len(out) > 1 else out[0].tz_convert("UTC")


def tiled_bars(path: Path, n: int = 1_000_000) -> pd.DataFrame:
    """The real bars repeated to ``n`` rows, re-stamped on consecutive trading minutes."""
    bars = load_bars(path).bars
    reps = -(-n // len(bars))
    values = {c: np.tile(bars[c].to_numpy(), reps)[:n] for c in bars.columns}
    return pd.DataFrame(values, index=trading_minutes(n).rename("ts"))


def _peak_child(path: str, n: int) -> None:
    bars = tiled_bars(Path(path), n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = run_backtest(bars, BacktestConfig(strategy="confluence"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_kib": peak, "before_kib": before, "bars": len(bars), "trades": result.metrics["trades"],
                      "elapsed_s": time.perf_counter() - started}))


def bench_backtest_peak_mib(path: Path, *, n: int = 1_000_000) -> dict:
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); " \
           f"from bench.backtest import _peak_child; _peak_child({str(path)!r}, {n})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_mib, before_mib = r["peak_kib"] / 1024, r["before_kib"] / 1024
    return {"name": "backtest_1m_bars_peak_mib", "value": round(peak_mib, 1), "unit": "MiB", "target": 1024,
            "better": "lower",
            "detail": f"peak RSS (ru_maxrss) of a fresh process backtesting {r['bars']} bars with confluence "
                      f"(real file tiled on consecutive trading minutes): {peak_mib:.0f} MiB total, of which "
                      f"{before_mib:.0f} MiB before the backtest (interpreter + tiled input); "
                      f"{r['trades']} trades in {r['elapsed_s']:.1f} s"}
