"""The ML filter as a backtest sees it: a function from candidate bars' features to pass/block.

The same fast path and the same rule as the live hook (``mlfilter.inference``): the ensemble's
confidence on the ``FEATURES`` of the bar, at or above the model's threshold passes; a row that
cannot be scored (a missing or non-finite feature) passes, as live, where no confidence is never an
invented number.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.fast_inference import FastEnsemble

Filter = Callable[[pd.DataFrame], np.ndarray]


def ensemble_filter(fast: FastEnsemble, threshold: float | None = None) -> Filter:
    """``rows -> bool array``: True where the signal passes (see module docstring)."""
    limit = fast.threshold if threshold is None else threshold

    def allowed(rows: pd.DataFrame) -> np.ndarray:
        out = np.ones(len(rows), dtype=bool)
        if not len(rows):
            return out
        x = rows.reindex(columns=list(FEATURES)).to_numpy(np.float64)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            out[ok] = fast.confidence_many(x[ok]) >= limit
        return out

    return allowed
