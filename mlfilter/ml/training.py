"""Training entry point: bars in, a validated ensemble and its out-of-sample scores out.

Steps: engine features and decisions per bar file, barrier labels (per-file tick size and dollar
multiplier), a purged walk-forward over the pooled signals (the reported, out-of-sample scores), then
the final model fitted on everything before the last ``validation_fraction`` of the bars and scored on
that last window. Cuts are bar-time quantiles, never signal counts (see ``validation``).

Several files mix instruments: SPY is ~1/10 of the S&P index, ES pays $50 a point. Barriers are in ATR
units, so the labels are instrument-free; only P&L needs a ``point_value`` per file. The CLI defaults
SPY files to $500 a point (ten shares' worth of index points = one ES-equivalent contract) so their
dollar P&L is comparable with ES; commission stays $2.50 a side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mlfilter.ml.artifacts import data_hash
from mlfilter.ml.dataset import FEATURES, DatasetConfig, build_dataset, concat_datasets
from mlfilter.ml.drift import drift_baseline
from mlfilter.ml.ensemble import EnsembleConfig, EnsembleModel
from mlfilter.ml.labels import BarrierConfig
from mlfilter.ml.metrics import evaluate
from mlfilter.ml.validation import time_boundaries, train_mask_before, walk_forward

__all__ = ["SUMMARY_KEYS", "BarSet", "NotEnoughSamples", "TrainConfig", "TrainingResult", "train"]

SUMMARY_KEYS = ("model_version", "samples", "folds", "auc", "brier", "log_loss", "precision_at_threshold",
                "recall_at_threshold", "filtered", "unfiltered")
TRADING_KEYS = ("trades", "profit_factor", "expectancy_usd")
Progress = Callable[[float, str], None]


class NotEnoughSamples(ValueError):
    """Fewer labelled signals than the configured minimum: the scores would be noise."""


@dataclass
class BarSet:
    """One bar file's bars with its instrument units (ES defaults)."""

    bars: pd.DataFrame
    name: str = ""
    tick_size: float = 0.25
    point_value: float = 50.0
    options: pd.DataFrame | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``train`` needs besides the bars. ``min_samples`` 1000 is DESIGN section 4's floor."""

    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    barrier: BarrierConfig = field(default_factory=BarrierConfig)
    candidates: str = "direction"
    folds: int = 5
    validation_fraction: float = 0.2
    min_samples: int = 1000
    min_train: int = 100

    def __post_init__(self) -> None:
        if self.folds < 1:
            raise ValueError(f"folds must be >= 1, got {self.folds}")
        if not 0.05 <= self.validation_fraction <= 0.5:
            raise ValueError("validation_fraction must be in [0.05, 0.5]")
        if self.min_samples < 1:
            raise ValueError("min_samples must be >= 1")


@dataclass
class TrainingResult:
    """The final model, the labelled table and the scores (walk-forward pooled, per fold, final window)."""

    model: EnsembleModel
    dataset: pd.DataFrame
    overall: dict[str, Any]
    per_fold: list[dict[str, Any]]
    validation: dict[str, Any]
    oos_proba: np.ndarray
    elapsed_s: float

    def summary(self) -> dict[str, Any]:
        """The DESIGN section 5 ``train_filter`` JSON object (out-of-sample walk-forward scores)."""
        o = self.overall
        return {
            "model_version": self.model.meta["model_version"],
            "samples": int(len(self.dataset)),
            "folds": len(self.per_fold),
            **{k: o.get(k) for k in ("auc", "brier", "log_loss", "precision_at_threshold", "recall_at_threshold")},
            "filtered": {k: o["filtered"][k] for k in TRADING_KEYS},
            "unfiltered": {k: o["unfiltered"][k] for k in TRADING_KEYS},
        }


def _noop(fraction: float, message: str) -> None:
    return None


def _as_set(item: BarSet | pd.DataFrame, i: int) -> BarSet:
    return item if isinstance(item, BarSet) else BarSet(bars=item, name=f"bars{i}")


def _fit(rows: np.ndarray, table: pd.DataFrame, x: np.ndarray, cfg: EnsembleConfig) -> EnsembleModel:
    sub = table.iloc[rows]
    return EnsembleModel(cfg).fit(x[rows], sub["y"].to_numpy(), sub["t_signal"].to_numpy(),
                                  sub["t_outcome"].to_numpy())


def train(bars_list: Sequence[BarSet | pd.DataFrame], *, config: TrainConfig | None = None,
          progress: Progress | None = None) -> TrainingResult:
    """Build the dataset, walk forward, fit the final model. Raises ``NotEnoughSamples``."""
    cfg = config or TrainConfig()
    say = progress or _noop
    started = time.perf_counter()
    sets = [_as_set(b, i) for i, b in enumerate(bars_list)]
    if not sets:
        raise ValueError("no bars given")
    tables = []
    for i, s in enumerate(sets):
        say(0.1 * i / len(sets), f"features and labels: {s.name}")
        barrier = replace(cfg.barrier, tick_size=s.tick_size, point_value=s.point_value)
        tables.append(build_dataset(s.bars, options=s.options,
                                    config=DatasetConfig(candidates=cfg.candidates, barrier=barrier, source=s.name)))
    table = concat_datasets(tables)
    if len(table) < cfg.min_samples:
        raise NotEnoughSamples(f"{len(table)} labelled signals in {sum(len(s.bars) for s in sets)} bars; "
                               f"need at least {cfg.min_samples} (add bar files or lower min_samples)")
    if table["y"].nunique() < 2:
        raise NotEnoughSamples(f"all {len(table)} signals have the same label; nothing to learn")
    x = table[list(FEATURES)].to_numpy(np.float64)
    y, pnl = table["y"].to_numpy(), table["pnl_usd"].to_numpy()
    ts, to = table["t_signal"].to_numpy(), table["t_outcome"].to_numpy()
    bar_times = [pd.DatetimeIndex(s.bars.index) for s in sets]
    thr = cfg.ensemble.threshold

    folds = walk_forward(ts, to, time_boundaries(bar_times, cfg.folds + 1), min_train=cfg.min_train)
    per_fold, oos_rows, oos_p = [], [], []
    for k, f in enumerate(folds):
        say(0.1 + 0.75 * k / max(len(folds), 1), f"walk-forward fold {f.number}/{len(folds)}")
        if len(np.unique(y[f.train])) < 2:
            continue
        p = _fit(f.train, table, x, cfg.ensemble).predict_proba(x[f.test])
        m = evaluate(y[f.test], p, pnl[f.test], thr)
        m.update(fold=f.number, train=int(len(f.train)), purged=f.purged, test_start=f.test_start.isoformat(),
                 test_end=f.test_end.isoformat())
        per_fold.append(m)
        oos_rows.append(f.test)
        oos_p.append(p)
    if not per_fold:
        raise NotEnoughSamples(f"no walk-forward fold had {cfg.min_train} training signals of both classes")
    rows = np.concatenate(oos_rows)
    proba = np.concatenate(oos_p)
    overall = evaluate(y[rows], proba, pnl[rows], thr)

    say(0.85, "final model")
    cut = _quantile_time(bar_times, 1.0 - cfg.validation_fraction)
    train_rows = np.flatnonzero(train_mask_before(ts, to, cut))
    val_rows = np.flatnonzero(pd.to_datetime(ts, utc=True) >= cut)
    if len(train_rows) < cfg.min_train or len(np.unique(y[train_rows])) < 2:
        raise NotEnoughSamples(f"only {len(train_rows)} signals before the validation window; need {cfg.min_train}")
    model = _fit(train_rows, table, x, cfg.ensemble)
    validation = evaluate(y[val_rows], model.predict_proba(x[val_rows]), pnl[val_rows], thr) if len(val_rows) else {}
    validation.update(start=cut.isoformat())
    digest = data_hash(x[train_rows], y[train_rows])
    model.meta.update(
        model_version=f"mlf-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{digest[:8]}",
        data_hash=digest,
        samples={"total": int(len(table)), "train": int(len(train_rows)), "validation": int(len(val_rows))},
        training_window={"start": _utc(ts[train_rows[0]]).isoformat(), "end": _utc(to[train_rows].max()).isoformat()},
        metrics={"walk_forward": overall, "folds": per_fold, "validation": validation},
        drift_baseline=drift_baseline(x[train_rows], FEATURES, y=y[train_rows]),
        sources=sorted({s.name for s in sets}),
    )
    say(1.0, "done")
    return TrainingResult(model=model, dataset=table, overall=overall, per_fold=per_fold, validation=validation,
                          oos_proba=proba, elapsed_s=time.perf_counter() - started)


def _utc(t: Any) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _quantile_time(bar_times: Sequence[pd.DatetimeIndex], q: float) -> pd.Timestamp:
    """The bar time below which a fraction ``q`` of all bars lie."""
    ts = np.sort(np.concatenate([t.as_unit("ns").asi8 for t in bar_times]))
    return pd.Timestamp(int(ts[min(int(round(q * len(ts))), len(ts) - 1)]), tz="UTC")
