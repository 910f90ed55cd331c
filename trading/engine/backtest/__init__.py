"""Backtests: run a named strategy over a bar frame and summarize it (pure; no Django).

``run_backtest(bars, config)`` returns a ``BacktestResult`` whose ``summary()`` is the DESIGN
section 5 JSON object. ``walk_forward(bars, config, k)`` splits the bars into ``k`` contiguous
folds of (nearly) equal bar count and runs each with a fresh account, after computing the
strategy's causal inputs once over the whole history (so later folds keep their warm-up).

Starting equity defaults to 50,000 USD (``BacktestConfig.start_equity``): it sizes the confluence
trades (0.5 % risk each) and is the base of the drawdown percentage and the daily returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from trading.engine.backtest.config import SUMMARY_KEYS, BacktestConfig, BacktestResult, MLFilter, check_bars
from trading.engine.backtest.strategies import STRATEGIES, ml_verdicts
from trading.engine.metrics import compute_metrics, session_days


def strategy_names() -> list[str]:
    return sorted(STRATEGIES)


def make_result(index: pd.DatetimeIndex, trades: pd.DataFrame, equity: np.ndarray, *, start_equity: float,
                elapsed_s: float, notes: dict | None = None) -> BacktestResult:
    """Metrics and summary of a run from its trades and per-bar equity (``replay`` builds its own the same way)."""
    idx = pd.DatetimeIndex(index)
    curve = pd.Series(equity, index=idx, name="equity_usd")
    n_days = len(np.unique(session_days(idx))) if len(idx) else 0
    metrics = compute_metrics(trades["pnl_usd"].to_numpy(), curve, start_equity, n_days=n_days)
    return BacktestResult(trades=trades, equity=curve, metrics=metrics, bars=len(idx),
                          start=idx[0] if len(idx) else None, end=idx[-1] if len(idx) else None,
                          elapsed_s=elapsed_s, notes=notes or {})


def _result(bars: pd.DataFrame, run, config: BacktestConfig, elapsed: float) -> BacktestResult:
    return make_result(bars.index, run.trades, run.equity, start_equity=config.start_equity, elapsed_s=elapsed,
                       notes=run.notes)


def run_backtest(bars: pd.DataFrame, config: BacktestConfig | None = None, *,
                 progress: Callable[[int], None] | None = None) -> BacktestResult:
    """Run ``config.strategy`` over ``bars``; ``elapsed_s`` covers preparation (features) and simulation."""
    cfg = config or BacktestConfig()
    if cfg.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {cfg.strategy!r}; known: {', '.join(sorted(STRATEGIES))}")
    check_bars(bars)
    if len(bars) == 0:
        raise ValueError("no bars to backtest")
    strat = STRATEGIES[cfg.strategy]
    started = time.perf_counter()
    prepared = strat.prepare(bars, cfg)
    run = strat.run(bars, prepared, cfg, progress)
    return _result(bars, run, cfg, time.perf_counter() - started)


def fold_bounds(n: int, k: int) -> list[tuple[int, int]]:
    """``k`` contiguous [start, stop) bar ranges covering ``n`` bars, sizes differing by at most one."""
    if k < 1:
        raise ValueError(f"walk-forward needs k >= 1, got {k}")
    if k > n:
        raise ValueError(f"walk-forward k={k} is more than the {n} bars available")
    edges = np.linspace(0, n, k + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def walk_forward(bars: pd.DataFrame, config: BacktestConfig, k: int, *,
                 fold_filters: Sequence[MLFilter | None] | None = None,
                 progress: Callable[[int], None] | None = None) -> list[BacktestResult]:
    """One result per fold (see module docstring); each fold's ``elapsed_s`` includes its share of preparation.

    ``fold_filters`` gives fold ``i`` its own ML filter (``--ml retrain``: a model trained on the bars
    before that fold only); None runs the fold without one.
    """
    if config.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {config.strategy!r}; known: {', '.join(sorted(STRATEGIES))}")
    check_bars(bars)
    bounds = fold_bounds(len(bars), k)
    if fold_filters is not None and len(fold_filters) != k:
        raise ValueError(f"{len(fold_filters)} fold filters for {k} folds")
    strat = STRATEGIES[config.strategy]
    started = time.perf_counter()
    prepared = strat.prepare(bars, config)
    prep_share = (time.perf_counter() - started) / k
    results = []
    for i, (a, b) in enumerate(bounds):
        t0 = time.perf_counter()
        part = bars.iloc[a:b]
        sliced = {name: value.iloc[a:b] if isinstance(value, pd.DataFrame) else value[a:b]
                  for name, value in prepared.items()}
        if fold_filters is not None:
            sliced["entry_allowed"] = ml_verdicts(fold_filters[i], sliced["features"], sliced["direction"])
        run = strat.run(part, sliced, config, progress)
        results.append(_result(part, run, config, time.perf_counter() - t0 + prep_share))
    return results


__all__ = ["SUMMARY_KEYS", "BacktestConfig", "BacktestResult", "check_bars", "fold_bounds", "make_result",
           "run_backtest", "strategy_names", "walk_forward"]
