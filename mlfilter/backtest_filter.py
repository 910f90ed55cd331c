"""Which ML filter a backtest runs with (``backtest --ml deployed|none|VERSION``), never one that saw its bars.

* ``deployed`` (the default when omitted): the deployed model, if it enforces live. A model trained on
  simulated data is advisory live (it blocks nothing), so by default such a backtest runs without a
  filter, exactly as the live system would trade; asked for by name it is refused for the same reason.
* ``VERSION``: that registered model.
* ``none``: no filter.

A model whose recorded training window overlaps the backtest's bars is refused: its verdicts on them
would be in-sample and the results better than anything live could repeat. ``retrained`` trains a
fresh model on the bars before a walk-forward fold (its past only) for ``--walk-forward K --ml
retrain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlfilter.ml.artifacts import load_model
from mlfilter.ml.errors import ModelFormatError
from mlfilter.ml.fast_inference import FastEnsemble
from mlfilter.ml.filtering import Filter, ensemble_filter
from mlfilter.ml.training import BarSet, NotEnoughSamples, TrainConfig, train
from mlfilter.models import ModelVersion


class FilterRefused(ValueError):
    """The requested model cannot be used for this backtest; the message says why in one line."""


@dataclass
class FilterChoice:
    model: str | None  # version, "retrained", or None for no filter
    filter: Filter | None = None
    note: str = ""
    threshold: float | None = None
    folds: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        out = {"model": self.model, "threshold": self.threshold, "note": self.note}
        if self.folds:
            out["folds"] = self.folds
        return out


def choose(choice: str | None, *, start: pd.Timestamp, end: pd.Timestamp) -> FilterChoice:
    """The filter for a backtest over bars from ``start`` to ``end`` (see module docstring)."""
    if choice == "none":
        return FilterChoice(model=None, note="ML filter off (--ml none)")
    if choice in (None, "deployed"):
        row = ModelVersion.objects.filter(deployed=True).first()
        if row is None:
            if choice is None:
                return FilterChoice(model=None, note="no model deployed: signals unfiltered, as live")
            raise FilterRefused("--ml deployed: no model is deployed")
        if row.simulated and choice is None:
            return FilterChoice(model=None, note=f"the deployed model {row.version} was trained on simulated data; "
                                                 "live it is advisory and blocks nothing, so it is not applied")
    else:
        row = ModelVersion.objects.filter(version=choice).first()
        if row is None:
            raise FilterRefused(f"--ml {choice}: no such model version")
    if row.simulated:
        raise FilterRefused(f"model {row.version} was trained on simulated data: live it is advisory and blocks "
                            "nothing, so a backtest with it would equal --ml none")
    _refuse_overlap(row, start, end)
    try:
        model = load_model(row.artifact_dir)
    except (ModelFormatError, OSError) as exc:
        raise FilterRefused(f"model {row.version} cannot be loaded: {exc}") from exc
    return FilterChoice(model=row.version, filter=ensemble_filter(FastEnsemble(model), row.threshold),
                        threshold=row.threshold,
                        note=f"trained on {_day(row.window_start)} .. {_day(row.window_end)}, before these bars")


def _refuse_overlap(row: ModelVersion, start: pd.Timestamp, end: pd.Timestamp) -> None:
    if row.window_start is None or row.window_end is None:
        raise FilterRefused(f"model {row.version} has no recorded training window, so nothing shows it did not "
                            "see these bars; use --ml none or another model")
    if pd.Timestamp(row.window_start) <= end and pd.Timestamp(row.window_end) >= start:
        raise FilterRefused(f"model {row.version} was trained on bars from {_day(row.window_start)} to "
                            f"{_day(row.window_end)}, which overlap this backtest ({_day(start)} .. {_day(end)}): "
                            "its verdicts would be in-sample. Use --ml none, a model trained earlier, or "
                            "--walk-forward K --ml retrain")


def retrained(past: pd.DataFrame, *, min_samples: int) -> tuple[Filter | None, dict[str, Any]]:
    """A model trained on ``past`` only (a fold's history), or None with the reason when it cannot be."""
    info: dict[str, Any] = {"train_bars": int(len(past)),
                            "train_end": past.index[-1].isoformat() if len(past) else None}
    if not len(past):
        return None, {**info, "note": "no earlier bars to train on: unfiltered"}
    try:
        result = train([BarSet(bars=past, name="walk-forward past")],
                       config=TrainConfig(min_samples=min_samples, folds=2))
    except NotEnoughSamples as exc:
        return None, {**info, "note": f"not trained ({exc}): unfiltered"}
    fast = FastEnsemble(result.model)
    auc = result.overall.get("auc")
    return ensemble_filter(fast), {**info, "samples": int(len(result.dataset)), "threshold": fast.threshold,
                                   "oos_auc": auc, "note": "trained on this fold's past only"}


def _day(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M") if value is not None else "?"
