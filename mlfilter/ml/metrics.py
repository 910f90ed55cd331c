"""Out-of-sample scores of the filter: probability quality and what it does to trading.

AUC says whether the filter ranks signals; Brier and log loss whether its probabilities can be taken
at face value (the 0.65 threshold assumes they can). The trading effect is the point of the filter:
the expectancy and profit factor of the signals it lets through (confidence >= threshold) against all
signals, using each signal's barrier P&L net of commission.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

__all__ = ["classification_metrics", "evaluate", "trading_metrics"]


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def trading_metrics(pnl: np.ndarray) -> dict[str, Any]:
    """trades, profit_factor (None without losses or trades), expectancy_usd (mean net P&L), net, win rate."""
    pnl = np.asarray(pnl, np.float64)
    if len(pnl) == 0:
        return {"trades": 0, "profit_factor": None, "expectancy_usd": None, "net_pnl_usd": 0.0, "win_rate": None}
    gains, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    return {
        "trades": int(len(pnl)),
        "profit_factor": _r(gains / losses, 4) if losses > 0 else None,
        "expectancy_usd": _r(pnl.mean(), 2),
        "net_pnl_usd": _r(pnl.sum(), 2),
        "win_rate": _r((pnl > 0).mean(), 4),
    }


def classification_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """AUC (None with one class), Brier, log loss, and precision/recall of ``p >= threshold``."""
    y, p = np.asarray(y, np.int64), np.clip(np.asarray(p, np.float64), 1e-15, 1 - 1e-15)
    both = len(np.unique(y)) == 2
    passed = p >= threshold
    tp = int((passed & (y == 1)).sum())
    return {
        "n": int(len(y)),
        "base_rate": _r(y.mean()) if len(y) else None,
        "auc": _r(roc_auc_score(y, p)) if both else None,
        "brier": _r(brier_score_loss(y, p)) if len(y) else None,
        "log_loss": _r(log_loss(y, p, labels=[0, 1])) if len(y) else None,
        "precision_at_threshold": _r(tp / passed.sum()) if passed.sum() else None,
        "recall_at_threshold": _r(tp / (y == 1).sum()) if (y == 1).sum() else None,
        "passed": int(passed.sum()),
    }


def evaluate(y: np.ndarray, p: np.ndarray, pnl: np.ndarray, threshold: float) -> dict[str, Any]:
    """Classification metrics plus ``filtered`` (passed signals) vs ``unfiltered`` (all) trading metrics."""
    out = classification_metrics(y, p, threshold)
    passed = np.asarray(p) >= threshold
    pnl = np.asarray(pnl, np.float64)
    out["filtered"] = trading_metrics(pnl[passed])
    out["unfiltered"] = trading_metrics(pnl)
    # a threshold-free view: calibrated confidences may never reach 0.65 when the base rate is low
    top = np.asarray(p) >= np.quantile(p, 0.8) if len(pnl) else passed
    out["top_quintile"] = trading_metrics(pnl[top])
    return out
