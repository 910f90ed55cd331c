"""The ML filter's long jobs: train a model, save its artifacts, register it, maybe auto-deploy it.

Kept apart from ``mlfilter.services`` (the short writes: deploy, runs, drift) because this module loads
the whole training stack (scikit-learn, XGBoost, skops); the admin and the command line must not.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from mlfilter import selectors
from mlfilter.ml import artifacts
from mlfilter.ml.artifacts import FORMAT_VERSION
from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.training import BarSet, NotEnoughSamples, TrainConfig, TrainingResult, train
from mlfilter.models import ModelVersion, TrainingRun
from mlfilter.services import alert, finish_run, maybe_auto_deploy, models_root, report_progress, start_run

log = logging.getLogger(__name__)
CALIBRATION_BINS = 10


def _oos_labels(result: TrainingResult) -> np.ndarray | None:
    """Labels matching ``result.oos_proba``: the walk-forward test rows, fold by fold, in time order.

    The trainer keeps the pooled out-of-sample probabilities but not their row numbers; each kept
    fold's test rows are the signals inside its [test_start, test_end) window, so they are rebuilt
    from the table. Any mismatch in length means that reconstruction is wrong: return None.
    """
    table = result.dataset
    ts = pd.to_datetime(table["t_signal"], utc=True)
    parts = []
    for fold in result.per_fold:
        a, b = pd.Timestamp(fold["test_start"]), pd.Timestamp(fold["test_end"])
        parts.append(table["y"].to_numpy()[((ts >= a) & (ts < b)).to_numpy()])
    y = np.concatenate(parts) if parts else np.array([])
    return y if len(y) == len(result.oos_proba) and len(y) else None


def _bins(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, CALIBRATION_BINS - 1)
    out = []
    for k in range(CALIBRATION_BINS):
        sel = which == k
        if sel.any():
            out.append({"lo": round(float(edges[k]), 2), "hi": round(float(edges[k + 1]), 2),
                        "predicted": round(float(p[sel].mean()), 6), "observed": round(float(y[sel].mean()), 6),
                        "n": int(sel.sum())})
    return out


def calibration_curve(result: TrainingResult) -> dict[str, Any]:
    """Reliability bins (mean confidence vs observed hit rate) from out-of-sample predictions.

    Preferred: the pooled walk-forward predictions (``source: walk_forward_oos``). Fallback: the final
    model on its own held-out validation window (``source: validation``), also never seen in fitting.
    """
    y = _oos_labels(result)
    if y is not None:
        return {"source": "walk_forward_oos", "bins": _bins(y, np.asarray(result.oos_proba, np.float64))}
    start = result.validation.get("start")
    if start:
        table = result.dataset
        rows = (pd.to_datetime(table["t_signal"], utc=True) >= pd.Timestamp(start)).to_numpy()
        if rows.any():
            p = result.model.predict_proba(table.loc[rows, list(FEATURES)].to_numpy(np.float64))
            return {"source": "validation", "bins": _bins(table.loc[rows, "y"].to_numpy(), p)}
    return {"source": "", "bins": []}


def _when(text: str | None) -> datetime | None:
    return pd.Timestamp(text).to_pydatetime() if text else None


@transaction.atomic
def register_model(*, result: TrainingResult, artifact_dir: str | Path, trained_on: str, source: str,
                   config: TrainConfig | None = None) -> ModelVersion:
    """Record a trained model whose artifacts are already saved in ``artifact_dir``. Not deployed."""
    if trained_on not in ModelVersion.TrainedOn.values:
        raise ValueError(f"trained_on must be one of {ModelVersion.TrainedOn.values}, got {trained_on!r}")
    model, meta = result.model, result.model.meta
    window = meta.get("training_window") or {}
    parameters: dict[str, Any] = {"ensemble": model.config.to_dict()}
    if config is not None:
        parameters["training"] = {k: v for k, v in asdict(config).items() if k != "ensemble"}
    return ModelVersion.objects.create(
        version=meta["model_version"], trained_on=trained_on, source=source[:32],
        window_start=_when(window.get("start")), window_end=_when(window.get("end")),
        data_hash=meta.get("data_hash", ""), samples=len(result.dataset), features=list(model.features),
        parameters=parameters,
        metrics={"summary": result.summary(), "overall": result.overall, "folds": result.per_fold,
                 "validation": result.validation, "samples": meta.get("samples"), "elapsed_s": result.elapsed_s},
        feature_importances=model.feature_importances(), calibration=calibration_curve(result),
        drift_baseline=meta.get("drift_baseline", {}), format_version=FORMAT_VERSION,
        artifact_dir=str(Path(artifact_dir).resolve()))


class _Progress:
    """The trainer's progress callback: the run row at most every second, a pushed alert every few."""

    def __init__(self, run: TrainingRun | None, *, pushes: bool = True, row_every_s: float = 1.0,
                 push_every_s: float = 5.0) -> None:
        self.run, self.pushes, self.row_every_s, self.push_every_s = run, pushes, row_every_s, push_every_s
        self._row_at = self._push_at = float("-inf")

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        final = fraction >= 1.0
        if self.run is not None and (final or now - self._row_at >= self.row_every_s):
            self._row_at = now
            report_progress(run=self.run, progress=fraction, message=message)
        if self.pushes and (final or now - self._push_at >= self.push_every_s):
            self._push_at = now
            alert(f"ML training: {message}", progress=round(fraction, 3), status="running",
                  run=self.run.pk if self.run is not None else None)


def write_artifacts(*, result: TrainingResult, root: Path | None = None) -> Path:
    """Save the model into ``root/<model_version>/`` via a temporary directory renamed into place."""
    root = root or models_root()
    root.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    final = root / summary["model_version"]
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        artifacts.save_model(result.model, tmp)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def train_and_register(*, sets: list[BarSet], config: TrainConfig, source: str, trained_on: str,
                       run: TrainingRun | None = None, auto_deploy: bool = True,
                       push_progress: bool = True) -> ModelVersion:
    """Train, save the artifacts, register the version and (by the rule above) maybe deploy it.

    Not one transaction on purpose: training takes seconds to minutes and its progress must be
    visible meanwhile. Raises ``NotEnoughSamples`` (and anything else) to the caller, which records it.
    """
    result = train(sets, config=config, progress=_Progress(run, pushes=push_progress))
    artifact_dir = write_artifacts(result=result)
    row = register_model(result=result, artifact_dir=artifact_dir, trained_on=trained_on, source=source,
                         config=config)
    deployed = maybe_auto_deploy(candidate=row) if auto_deploy else False
    if deployed:
        row.refresh_from_db()
    if run is not None:
        auc = f"{row.auc:.3f}" if row.auc is not None else "n/a"
        finish_run(run=run, status=TrainingRun.Status.SUCCEEDED, samples=row.samples, model=row,
                   message=f"{row.version}: {row.samples} samples, OOS AUC {auc}"
                           f"{', deployed' if deployed else (', not deployed' if auto_deploy else '')}")
    return row


def retrain(*, source: str = "schedule", symbol: str | None = None, min_samples: int = 1000) -> TrainingRun:
    """Train on the stored bars (DESIGN section 4: min 1000 samples, 20 % validation); one TrainingRun."""
    symbol = symbol or settings.MIA_SYMBOL
    run = start_run(source=source, message=f"loading {symbol} bars")
    bars, simulated = selectors.bar_frame(symbol)
    trained_on = ModelVersion.TrainedOn.SIMULATED if simulated else ModelVersion.TrainedOn.REAL
    try:
        if len(bars) == 0:
            raise NotEnoughSamples(f"no stored {symbol} bars")
        train_and_register(sets=[BarSet(bars=bars, name=f"{symbol} stored bars")],
                           config=TrainConfig(min_samples=min_samples), source=source, trained_on=trained_on, run=run)
    except NotEnoughSamples as exc:
        finish_run(run=run, status=TrainingRun.Status.SKIPPED, message=f"skipped: {exc}")
    except Exception as exc:  # noqa: BLE001 - recorded and shown; the schedule tries again tomorrow
        log.exception("ML retraining failed")
        finish_run(run=run, status=TrainingRun.Status.FAILED, message=f"failed: {exc}"[:500])
        alert(f"ML retraining failed: {exc}"[:300], level="error", run=run.pk)
    run.refresh_from_db()
    return run
