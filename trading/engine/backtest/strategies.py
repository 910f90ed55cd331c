"""Backtest strategy plugins, chosen by name from ``STRATEGIES``.

A plugin is two functions: ``prepare(bars, config)`` computes everything causal over the whole
history once (features, signals) as arrays aligned to the bars, and ``run(bars, prepared, config,
progress)`` simulates one contiguous slice. Walk-forward folds slice the prepared arrays instead of
recomputing them, so a fold does not lose indicator warm-up.

* ``confluence``: the full engine pipeline (features -> decision -> ML filter -> risk -> sizing ->
  bracket) in ``backtest_loop``.
* ``sma_cross``: a reference strategy with exact, documented semantics (see ``sma_run``), fully
  vectorized; used to check the plumbing against a hand calculation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trading.engine import fills as fm
from trading.engine.backtest.config import BacktestConfig, MLFilter
from trading.engine.backtest.loop import LoopInputs, run_loop
from trading.engine.bars import bar_interval_ns
from trading.engine.book import ClosedTrade
from trading.engine.calendar import CmeCalendar
from trading.engine.decision import decide_frame
from trading.engine.features import atr, compute_features, efficiency_ratio
from trading.engine.runner import StrategyRunner

TRADE_COLUMNS = ("entry_time", "exit_time", "side", "qty", "entry_price", "exit_price", "pnl_usd", "commission_usd",
                 "exit_reason")
Progress = Callable[[int], None] | None


@dataclass
class StrategyRun:
    """Closed trades (``TRADE_COLUMNS``), mark-to-market equity per bar, and strategy-specific notes."""

    trades: pd.DataFrame
    equity: np.ndarray
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Strategy:
    prepare: Callable[[pd.DataFrame, BacktestConfig], dict[str, np.ndarray]]
    run: Callable[[pd.DataFrame, dict[str, np.ndarray], BacktestConfig, Progress], StrategyRun]


def trades_frame(index: pd.DatetimeIndex, entry_i: np.ndarray, exit_i: np.ndarray, side: np.ndarray,
                 qty: np.ndarray, entry_px: np.ndarray, exit_px: np.ndarray, pnl: np.ndarray, comm: np.ndarray,
                 reason: np.ndarray) -> pd.DataFrame:
    """The trades table; times are the start of the bar each fill happened in (UTC)."""
    return pd.DataFrame({
        "entry_time": index[np.asarray(entry_i, dtype=np.int64)],
        "exit_time": index[np.asarray(exit_i, dtype=np.int64)],
        "side": np.where(np.asarray(side) > 0, "LONG", "SHORT"),
        "qty": np.asarray(qty, dtype=np.int64),
        "entry_price": np.asarray(entry_px, dtype=np.float64),
        "exit_price": np.asarray(exit_px, dtype=np.float64),
        "pnl_usd": np.asarray(pnl, dtype=np.float64),
        "commission_usd": np.asarray(comm, dtype=np.float64),
        "exit_reason": np.asarray(reason, dtype=object),
    }, columns=list(TRADE_COLUMNS))


# ---------------------------------------------------------------- sma_cross


def _window_sums(close: np.ndarray, n: int, tick: float) -> tuple[np.ndarray, bool]:
    """Rolling sums of ``n`` closes (valid from index n-1). On the tick grid they are exact int64 sums
    (in ticks), so ties like fast == slow are decided exactly rather than by float noise."""
    q = close / tick
    exact = bool(np.all(np.abs(q - np.round(q)) < 1e-6)) and len(close) > 0
    v = np.round(q).astype(np.int64) if exact else close.astype(np.float64)
    cs = np.concatenate(([0], np.cumsum(v)))
    sums = np.zeros(len(close), dtype=v.dtype)
    if len(close) >= n:
        sums[n - 1:] = cs[n:] - cs[:-n]
    return sums, exact


def sma_prepare(bars: pd.DataFrame, config: BacktestConfig) -> dict[str, np.ndarray]:
    """Cross signal per bar: +1 when fast crosses above slow at t, -1 below, else 0.

    Up at t: fast_t > slow_t and fast_{t-1} <= slow_{t-1}; down: fast_t < slow_t and fast_{t-1} >= slow_{t-1};
    both SMAs must be defined at t-1 (t >= slow-1+1 and t >= fast-1+1).
    """
    nf, ns = config.fast, config.slow
    if nf < 1 or ns < 1:
        raise ValueError(f"--fast and --slow must be >= 1 (got {nf}, {ns})")
    close = bars["close"].to_numpy(np.float64)
    n = len(close)
    sf, exact_f = _window_sums(close, nf, fm.TICK_SIZE)
    ss, exact_s = _window_sums(close, ns, fm.TICK_SIZE)
    if exact_f and exact_s:  # fast > slow  <=>  sf * ns > ss * nf, exactly in integers
        lhs, rhs = sf * ns, ss * nf
    else:
        lhs, rhs = sf / nf, ss / ns
    gt, lt = lhs > rhs, lhs < rhs
    signal = np.zeros(n, dtype=np.int8)
    first = max(nf, ns)  # first t whose t-1 has both SMAs
    if n > first:
        t = slice(first, n)
        p = slice(first - 1, n - 1)
        signal[t] = np.where(gt[t] & ~gt[p], 1, np.where(lt[t] & ~lt[p], -1, 0))
    return {"signal": signal}


def sma_run(bars: pd.DataFrame, prepared: dict[str, np.ndarray], config: BacktestConfig,
            progress: Progress = None) -> StrategyRun:
    """Target +1 after a cross up, -1 after a cross down (reversing), flat before the first cross;
    decided at bar t's close, filled at bar t+1's open; 1 contract; no costs, stops or risk rules;
    whatever is open is closed at the last bar's close."""
    o = bars["open"].to_numpy(np.float64)
    c = bars["close"].to_numpy(np.float64)
    n = len(c)
    pv = fm.POINT_VALUE
    sig = prepared["signal"].astype(np.int64)
    nz = np.flatnonzero(sig)
    target = np.zeros(n, dtype=np.int64)
    if len(nz):  # forward-fill the last cross
        filled_idx = np.maximum.accumulate(np.where(sig != 0, np.arange(n), -1))
        target = np.where(filled_idx >= 0, sig[np.maximum(filled_idx, 0)], 0)
    held = np.zeros(n, dtype=np.int64)  # position during bar t (after t's open fill)
    held[1:] = target[:-1]
    prev_held = np.r_[0, held[:-1]]
    prev_close = np.r_[o[:1], c[:-1]]
    pnl_pts = prev_held * (o - prev_close) + held * (c - o)
    equity = config.start_equity + pv * np.cumsum(pnl_pts)
    changes = np.flatnonzero(held != prev_held)
    entries = changes[held[changes] != 0]
    nxt = np.searchsorted(changes, entries, side="right")
    has_exit = nxt < len(changes)
    exit_i = np.where(has_exit, changes[np.minimum(nxt, max(len(changes) - 1, 0))], n - 1)
    side = held[entries]
    entry_px = o[entries]
    exit_px = np.where(has_exit, o[exit_i], c[n - 1] if n else 0.0)
    pnl = side * (exit_px - entry_px) * pv + 0.0  # + 0.0 turns -0.0 into 0.0
    reason = np.where(has_exit, "reversal", "end_of_data")
    trades = trades_frame(bars.index, entries, exit_i, side, np.abs(side), entry_px, exit_px, pnl,
                          np.zeros(len(entries)), reason)
    if progress is not None:
        progress(n)
    return StrategyRun(trades=trades, equity=equity)


# ---------------------------------------------------------------- confluence


def confluence_prepare(bars: pd.DataFrame, config: BacktestConfig) -> dict[str, np.ndarray]:
    """Batch features with the configured weights, the engine's decision per bar (the same rules as the
    live ``decide``), the ML verdict per bar, ATR and the volatility percentile (sizing)."""
    feats = compute_features(bars, options=config.options, weights=config.confluence.weights)
    dec = decide_frame(feats, efficiency_ratio=np.asarray(efficiency_ratio(bars)), config=config.confluence)
    direction = dec["direction"].to_numpy().astype(np.int64)
    return {"direction": direction, "entry_allowed": ml_verdicts(config.ml_filter, feats, direction),
            "atr": atr(bars).to_numpy(np.float64), "vol_pct": feats["volatility_regime"].to_numpy(np.float64),
            "features": feats}


def ml_verdicts(ml_filter: MLFilter | None, features: pd.DataFrame, direction: np.ndarray) -> np.ndarray:
    """Per bar, whether the ML filter lets an entry through; only candidates (direction != 0) are scored,
    as live, where the model was trained on and scores those only."""
    allowed = np.ones(len(features), dtype=bool)
    candidates = np.flatnonzero(direction != 0)
    if ml_filter is not None and len(candidates):
        allowed[candidates] = np.asarray(ml_filter(features.iloc[candidates]), dtype=bool)
    return allowed


def confluence_run(bars: pd.DataFrame, prepared: dict[str, np.ndarray], config: BacktestConfig,
                   progress: Progress = None) -> StrategyRun:
    """The event loop over one slice of bars, with a fresh book and runner (``backtest.loop``)."""
    idx = pd.DatetimeIndex(bars.index)
    ts = idx.as_unit("ns").asi8
    pad = pd.Timedelta(days=10)
    cal = config.calendar or CmeCalendar(start=str((idx[0] - pad).date()) if len(idx) else None,
                                         end=str((idx[-1] + pad).date()) if len(idx) else None)
    x = LoopInputs(ts=ts, open=bars["open"].to_numpy(np.float64), high=bars["high"].to_numpy(np.float64),
                   low=bars["low"].to_numpy(np.float64), close=bars["close"].to_numpy(np.float64),
                   direction=prepared["direction"], entry_allowed=prepared["entry_allowed"], atr=prepared["atr"],
                   vol_pct=prepared["vol_pct"], session_close=cal.session_closes(ts), bar_ns=bar_interval_ns(ts))
    runner = StrategyRunner(risk=config.risk, policy=config.bracket, calendar=cal, instrument=config.instrument,
                            memoize=True)
    out = run_loop(x, runner=runner, fill_cfg=config.fills, policy=config.bracket, start_equity=config.start_equity,
                   instrument=config.instrument, progress=progress)
    trades = closed_trades_frame(out.trades)
    notes = {"risk_rejections": {str(k): v for k, v in out.rejections.items()},
             "max_abs_position": out.max_abs_position,
             "halted_at": pd.Timestamp(out.halted_at_ns, tz="UTC").isoformat() if out.halted_at_ns else None}
    return StrategyRun(trades=trades, equity=out.equity, notes=notes)


def closed_trades_frame(trades: list[ClosedTrade]) -> pd.DataFrame:
    """The trades table (``TRADE_COLUMNS``) of the book's closed trades."""
    return pd.DataFrame({
        "entry_time": pd.to_datetime(np.asarray([t.entry_ns for t in trades], dtype=np.int64), utc=True),
        "exit_time": pd.to_datetime(np.asarray([t.exit_ns for t in trades], dtype=np.int64), utc=True),
        "side": np.asarray(["LONG" if t.side > 0 else "SHORT" for t in trades], dtype=object),
        "qty": np.asarray([t.qty for t in trades], dtype=np.int64),
        "entry_price": np.asarray([t.entry_price for t in trades], dtype=np.float64),
        "exit_price": np.asarray([t.exit_price for t in trades], dtype=np.float64),
        "pnl_usd": np.asarray([t.pnl_usd for t in trades], dtype=np.float64),
        "commission_usd": np.asarray([t.commission_usd for t in trades], dtype=np.float64),
        "exit_reason": np.asarray([t.exit_reason for t in trades], dtype=object),
    }, columns=list(TRADE_COLUMNS))


STRATEGIES: dict[str, Strategy] = {
    "confluence": Strategy(prepare=confluence_prepare, run=confluence_run),
    "sma_cross": Strategy(prepare=sma_prepare, run=sma_run),
}
