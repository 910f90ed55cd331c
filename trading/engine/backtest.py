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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trading.engine.calendar import CmeCalendar
from trading.engine.fills import FillConfig
from trading.engine.metrics import compute_metrics, json_safe, session_days
from trading.engine.orders import BracketPolicy
from trading.engine.risk import RiskConfig

SUMMARY_KEYS = ("bars", "trades", "win_rate", "profit_factor", "net_pnl_usd", "gross_profit_usd", "gross_loss_usd",
                "max_drawdown_pct", "max_drawdown_usd", "sharpe", "sortino", "expectancy_usd", "trades_per_day",
                "start", "end", "elapsed_s", "bars_per_s", "rejected_rows")
REQUIRED_COLUMNS = ("open", "high", "low", "close")


@dataclass
class BacktestConfig:
    """What to run and under which rules. ``ml_filter(features) -> bool array`` gates confluence signals."""

    strategy: str = "confluence"
    start_equity: float = 50_000.0
    fast: int = 10
    slow: int = 30
    risk: RiskConfig = field(default_factory=RiskConfig)
    fills: FillConfig = field(default_factory=FillConfig)
    bracket: BracketPolicy = field(default_factory=BracketPolicy)
    ml_filter: Callable[[pd.DataFrame], np.ndarray] | None = None
    options: pd.DataFrame | None = None
    calendar: CmeCalendar | None = None

    def __post_init__(self) -> None:
        if not self.start_equity > 0:
            raise ValueError(f"starting equity must be > 0, got {self.start_equity}")


@dataclass
class BacktestResult:
    """Trades, the per-bar equity curve (UTC index) and the metrics of one run."""

    trades: pd.DataFrame
    equity: pd.Series
    metrics: dict[str, Any]
    bars: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    elapsed_s: float
    notes: dict[str, Any] = field(default_factory=dict)

    def summary(self, rejected_rows: int = 0) -> dict[str, Any]:
        """The contract JSON object (inf/NaN as None)."""
        out = {
            "bars": self.bars,
            **{k: self.metrics[k] for k in SUMMARY_KEYS if k in self.metrics},
            "start": _iso(self.start),
            "end": _iso(self.end),
            "elapsed_s": round(self.elapsed_s, 6),
            "bars_per_s": round(self.bars / self.elapsed_s, 1) if self.elapsed_s > 0 else None,
            "rejected_rows": rejected_rows,
        }
        return json_safe({k: out[k] for k in SUMMARY_KEYS})


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def strategy_names() -> list[str]:
    from trading.engine.backtest_strategies import STRATEGIES

    return sorted(STRATEGIES)


def check_bars(bars: pd.DataFrame) -> None:
    """Refuse frames the simulators would silently misread."""
    missing = [c for c in REQUIRED_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"bars lack column(s): {', '.join(missing)}")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise ValueError("bars need a tz-aware (UTC) DatetimeIndex")
    if not bars.index.is_monotonic_increasing:
        raise ValueError("bars must be sorted by time")


def _result(bars: pd.DataFrame, run, config: BacktestConfig, elapsed: float) -> BacktestResult:
    idx = pd.DatetimeIndex(bars.index)
    equity = pd.Series(run.equity, index=idx, name="equity_usd")
    n_days = len(np.unique(session_days(idx))) if len(idx) else 0
    metrics = compute_metrics(run.trades["pnl_usd"].to_numpy(), equity, config.start_equity, n_days=n_days)
    return BacktestResult(trades=run.trades, equity=equity, metrics=metrics, bars=len(bars),
                          start=idx[0] if len(idx) else None, end=idx[-1] if len(idx) else None,
                          elapsed_s=elapsed, notes=run.notes)


def run_backtest(bars: pd.DataFrame, config: BacktestConfig | None = None, *,
                 progress: Callable[[int], None] | None = None) -> BacktestResult:
    """Run ``config.strategy`` over ``bars``; ``elapsed_s`` covers preparation (features) and simulation."""
    from trading.engine.backtest_strategies import STRATEGIES

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
                 progress: Callable[[int], None] | None = None) -> list[BacktestResult]:
    """One result per fold (see module docstring); each fold's ``elapsed_s`` includes its share of preparation."""
    from trading.engine.backtest_strategies import STRATEGIES

    if config.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {config.strategy!r}; known: {', '.join(sorted(STRATEGIES))}")
    check_bars(bars)
    strat = STRATEGIES[config.strategy]
    started = time.perf_counter()
    prepared = strat.prepare(bars, config)
    prep_share = (time.perf_counter() - started) / k
    results = []
    for a, b in fold_bounds(len(bars), k):
        t0 = time.perf_counter()
        part = bars.iloc[a:b]
        run = strat.run(part, {name: arr[a:b] for name, arr in prepared.items()}, config, progress)
        results.append(_result(part, run, config, time.perf_counter() - t0 + prep_share))
    return results
