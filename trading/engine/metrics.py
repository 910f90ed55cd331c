"""Backtest performance metrics (the DESIGN section 5 JSON numbers).

Sharpe and Sortino use DAILY returns annualized with sqrt(252), as empyrical does: minute returns
are autocorrelated and dominated by microstructure, so annualizing them overstates the ratio. A day
is the CME trade date (the session that opens at 17:00 Chicago) and its return is that session's
closing equity over the previous one's (the first over the starting equity). Sharpe uses the
sample standard deviation (ddof=1); Sortino's downside deviation is the root mean square of the
negative returns over all days (required return 0), matching ``empyrical.sortino_ratio``.

Ratios that are undefined (no losing trade, fewer than two days, zero variance) come back as
``inf`` or ``NaN``; ``json_safe`` turns those into null for the JSON output.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trading.engine.sessions import local_ns, session_ids

ANNUAL_DAYS = 252


def session_days(index: pd.DatetimeIndex) -> np.ndarray:
    """CME trade-date id of each timestamp (UTC index)."""
    return session_ids(local_ns(index))


def daily_returns(equity: pd.Series, start_equity: float) -> pd.Series:
    """Simple returns of end-of-session equity, the first relative to ``start_equity``."""
    if equity.empty:
        return pd.Series(dtype=float)
    days = session_days(pd.DatetimeIndex(equity.index))
    values = equity.to_numpy(np.float64)
    last = np.r_[days[1:] != days[:-1], True]
    closes = values[last]
    prev = np.r_[start_equity, closes[:-1]]
    return pd.Series(closes / prev - 1.0, index=equity.index[last])


def sharpe(returns: np.ndarray) -> float:
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    sd = r.std(ddof=1)
    if sd == 0:
        return math.nan
    return float(r.mean() / sd * math.sqrt(ANNUAL_DAYS))


def sortino(returns: np.ndarray) -> float:
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    mean = float(r.mean())
    if downside == 0:
        return math.inf if mean > 0 else math.nan
    return mean / downside * math.sqrt(ANNUAL_DAYS)


def max_drawdown(equity: np.ndarray, start_equity: float) -> tuple[float, float]:
    """(max drawdown in percent of the running peak, max drawdown in USD); the start counts as a peak."""
    eq = np.asarray(equity, dtype=np.float64)
    if len(eq) == 0:
        return 0.0, 0.0
    peak = np.maximum.accumulate(np.r_[start_equity, eq])[1:]
    dd = peak - eq
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(peak > 0, dd / peak, 0.0)
    return float(pct.max() * 100.0), float(dd.max())


def compute_metrics(pnl: np.ndarray, equity: pd.Series, start_equity: float, *, n_days: int | None = None) -> dict:
    """The metric block of the backtest JSON from per-trade net P&L and the mark-to-market equity curve."""
    p = np.asarray(pnl, dtype=np.float64)
    wins, losses = p[p > 0], p[p < 0]
    gross_profit, gross_loss = float(wins.sum()), float(-losses.sum())  # both >= 0 here
    n = len(p)
    if gross_loss > 0:
        pf = gross_profit / gross_loss
    else:
        pf = math.inf if gross_profit > 0 else math.nan
    dd_pct, dd_usd = max_drawdown(equity.to_numpy(), start_equity)
    rets = daily_returns(equity, start_equity).to_numpy()
    if n_days is None:
        n_days = len(rets)
    return {
        "trades": n,
        "win_rate": float(len(wins) / n) if n else math.nan,
        "profit_factor": pf,
        "net_pnl_usd": float(p.sum()),
        "gross_profit_usd": gross_profit,
        "gross_loss_usd": -gross_loss,  # reported <= 0 so that gross profit + gross loss = net
        "max_drawdown_pct": dd_pct,
        "max_drawdown_usd": dd_usd,
        "sharpe": sharpe(rets),
        "sortino": sortino(rets),
        "expectancy_usd": float(p.mean()) if n else math.nan,
        "trades_per_day": float(n / n_days) if n_days else math.nan,
    }


def json_safe(value):
    """inf/NaN -> None (JSON null), recursively; numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
