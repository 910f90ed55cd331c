"""Time-ordered validation with purging and an embargo; never shuffled.

Why purging: a label is not known when its signal fires but only at ``t_outcome``, up to
``time_limit`` bars later. A training row whose [t_signal, t_outcome] interval reaches into the test
window was labelled with test-window prices, so keeping it leaks the future into the fit. Why the
embargo: features and labels are serially correlated for a while after a window ends; when training
rows may come from *after* a test window (``purged_kfold``), the first ``embargo`` after it are dropped.

Why boundaries come from bar times and not from signal counts: the split must not depend on anything
the model could not have known at training time. Signal counts after a cut depend on later prices;
bar timestamps do not. Quantiles of the bars' times give folds of about equal bar count, and
corrupting every price after a fold's training end leaves that fold's training rows (and so its fitted
model) bit-for-bit the same: ``tests/mlfilter/test_validation.py`` proves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Fold", "purged_kfold", "time_boundaries", "train_mask_before", "walk_forward"]


@dataclass(frozen=True)
class Fold:
    """Row positions for one split, and the test window [test_start, test_end) it was built around."""

    number: int
    train: np.ndarray
    test: np.ndarray
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    purged: int
    embargoed: int


def _ns(t: Sequence | np.ndarray | pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(t), utc=True)).as_unit("ns").asi8


def time_boundaries(bar_times: Sequence[pd.DatetimeIndex], parts: int) -> list[pd.Timestamp]:
    """``parts + 1`` cut times splitting the pooled bars into ``parts`` spans of near-equal bar count.

    The last cut is just after the last bar so every row falls inside a span.
    """
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    ts = np.sort(np.concatenate([pd.DatetimeIndex(t).as_unit("ns").asi8 for t in bar_times]))
    if len(ts) < parts:
        raise ValueError(f"cannot cut {len(ts)} bars into {parts} parts")
    pos = np.linspace(0, len(ts), parts + 1).round().astype(int)
    cuts = [int(ts[p]) if p < len(ts) else int(ts[-1]) + 1 for p in pos]
    cuts[0] = int(ts[0])
    return [pd.Timestamp(c, tz="UTC") for c in cuts]


def train_mask_before(t_signal: np.ndarray, t_outcome: np.ndarray, cut: pd.Timestamp) -> np.ndarray:
    """Rows usable for training a model that must know nothing at or after ``cut`` (purged)."""
    c = pd.Timestamp(cut).value
    return (_ns(t_signal) < c) & (_ns(t_outcome) < c)


def walk_forward(t_signal: np.ndarray, t_outcome: np.ndarray, boundaries: Sequence[pd.Timestamp], *,
                 min_train: int = 1) -> list[Fold]:
    """Expanding-window folds: test span k is [b_k, b_{k+1}) for k >= 1, trained on rows before b_k.

    ``boundaries`` (from ``time_boundaries(bars, folds + 1)``) give ``len - 2`` folds; the first span only
    trains. Training rows whose outcome is at or after the test start are purged. Folds with fewer than
    ``min_train`` training rows are left out.
    """
    s, o = _ns(t_signal), _ns(t_outcome)
    folds = []
    for k in range(1, len(boundaries) - 1):
        a, b = pd.Timestamp(boundaries[k]), pd.Timestamp(boundaries[k + 1])
        test = np.flatnonzero((s >= a.value) & (s < b.value))
        before = s < a.value
        train = np.flatnonzero(before & (o < a.value))
        if len(train) < min_train or len(test) == 0:
            continue
        folds.append(Fold(len(folds) + 1, train, test, a, b, purged=int(before.sum() - len(train)), embargoed=0))
    return folds


def purged_kfold(t_signal: np.ndarray, t_outcome: np.ndarray, boundaries: Sequence[pd.Timestamp], *,
                 embargo: pd.Timedelta) -> list[Fold]:
    """Combinatorial-style k-fold over time spans, training on both sides of each test span.

    Rows overlapping the test window [test_start, max(test t_outcome)] are purged; rows whose signal
    falls within ``embargo`` after the test window are dropped. For research (more test coverage);
    ``walk_forward`` is what the trainer reports because production only ever predicts forward.
    """
    s, o = _ns(t_signal), _ns(t_outcome)
    folds = []
    for k in range(len(boundaries) - 1):
        a, b = pd.Timestamp(boundaries[k]), pd.Timestamp(boundaries[k + 1])
        in_test = (s >= a.value) & (s < b.value)
        test = np.flatnonzero(in_test)
        if len(test) == 0:
            continue
        end = max(int(o[test].max()), b.value)  # the window lasts until its last outcome is known
        overlap = ~in_test & (s <= end) & (o >= a.value)
        emb = ~in_test & ~overlap & (s > end) & (s <= end + pd.Timedelta(embargo).value)
        train = np.flatnonzero(~in_test & ~overlap & ~emb)
        folds.append(Fold(len(folds) + 1, train, test, a, pd.Timestamp(end, tz="UTC"), purged=int(overlap.sum()),
                          embargoed=int(emb.sum())))
    return folds
