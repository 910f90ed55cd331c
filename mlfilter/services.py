"""Writes of the ML filter: register a trained model, deploy one, auto-deploy a better one, drift reports.

Keyword-only arguments; each write is one transaction, with dashboard pushes after commit.

Auto-deploy rule ("the candidate beats the deployed model"), all on out-of-sample walk-forward scores:

* no model deployed -> deploy the candidate;
* a model trained on simulated data never replaces one trained on real data;
* a real-data candidate replaces a simulated placeholder whenever it has an out-of-sample AUC (the
  placeholder's scores were measured on another population, so they are not comparable);
* otherwise the candidate must have a strictly higher AUC (ranks signals better) AND a Brier score
  no worse (its probabilities are at least as honest: the 0.65 threshold relies on them). A missing
  score on the candidate never beats anything.

``settings.MIA_ML_AUTO_DEPLOY`` (default True) switches auto-deploy off; deploying by hand (admin,
the ML page) stays possible for risk admins.
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
from django.utils import timezone

from mlfilter import selectors
from mlfilter.ml.artifacts import FORMAT_VERSION, ModelFormatError, load_model
from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.drift import drift_report
from mlfilter.ml.training import BarSet, NotEnoughSamples, TrainConfig, TrainingResult, train
from mlfilter.models import ModelVersion, TrainingRun
from trading import roles
from trading.models import AuditLog
from trading.push import push
from trading.services import PermissionDenied

log = logging.getLogger(__name__)
CALIBRATION_BINS = 10
DRIFT_MIN_ROWS = 30

__all__ = ["PermissionDenied", "beats", "calibration_curve", "check_drift", "deploy", "finish_run",
           "maybe_auto_deploy", "models_root", "register_model", "retrain", "start_run", "train_and_register",
           "verify_artifacts", "write_artifacts"]


def models_root() -> Path:
    return Path(settings.VAR_DIR) / "models"


def alert(message: str, *, level: str = "info", **extra: Any) -> None:
    """A dashboard alert from the ML side (DESIGN section 6 ``alert`` messages, ``source: "ml"``)."""
    push("alert", {"level": level, "message": message, "source": "ml", **extra})


# --- registering -------------------------------------------------------------------------------------------


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


# --- deploying ---------------------------------------------------------------------------------------------


def verify_artifacts(row: ModelVersion) -> None:
    """Load the model the way the inference hook will; raise ``ModelFormatError`` if that would fail."""
    try:
        loaded = load_model(row.artifact_dir)
    except OSError as exc:
        raise ModelFormatError(f"{row.artifact_dir}: {exc}") from exc
    if loaded.meta.get("model_version") != row.version:
        raise ModelFormatError(f"{row.artifact_dir} holds {loaded.meta.get('model_version')!r}, not {row.version!r}")


@transaction.atomic
def deploy(*, version: ModelVersion | str, actor_name: str, user: Any = None, reason: str = "") -> ModelVersion:
    """Make ``version`` the one deployed model, audited as ``ml.deploy`` with the versions before/after.

    ``user`` (a person) must be a risk admin; ``user=None`` is a system actor (bootstrap, auto-deploy).
    The artifacts are loaded first: a model that cannot load is never deployed.
    """
    if user is not None and not roles.has_role(user, roles.RISK_ADMIN):
        raise PermissionDenied(f"{actor_name} may not deploy ML models (risk_admin only)")
    name = version.version if isinstance(version, ModelVersion) else version
    row = ModelVersion.objects.select_for_update().get(version=name)
    current = ModelVersion.objects.select_for_update().filter(deployed=True).first()
    if current is not None and current.pk == row.pk:
        return row
    verify_artifacts(row)
    if current is not None:
        current.deployed = False
        current.save(update_fields=["deployed"])
    row.deployed, row.deployed_at, row.deployed_by = True, timezone.now(), actor_name[:150]
    row.save(update_fields=["deployed", "deployed_at", "deployed_by"])
    AuditLog.objects.create(user=user, actor=actor_name[:150], action="ml.deploy", reason=reason[:500],
                            before={"version": current.version if current else None},
                            after={"version": row.version, "trained_on": row.trained_on})
    message = f"ML model {row.version} deployed by {actor_name}" + (" (simulated data)" if row.simulated else "")
    transaction.on_commit(lambda: alert(message, version=row.version))
    return row


def beats(candidate: ModelVersion, current: ModelVersion) -> tuple[bool, str]:
    """The auto-deploy rule of this module's docstring, with the reason in words."""
    if candidate.simulated and not current.simulated:
        return False, "a model trained on simulated data never replaces one trained on real data"
    if candidate.auc is None or candidate.brier is None:
        return False, "the candidate has no out-of-sample AUC/Brier"
    if current.simulated and not candidate.simulated:
        return True, "a real-data model replaces the simulated placeholder"
    if current.auc is None or current.brier is None:
        return True, "the deployed model has no out-of-sample scores"
    if candidate.auc > current.auc and candidate.brier <= current.brier:
        return True, (f"AUC {candidate.auc:.4f} > {current.auc:.4f} and Brier {candidate.brier:.4f} "
                      f"<= {current.brier:.4f}")
    return False, (f"AUC {candidate.auc:.4f} vs {current.auc:.4f}, Brier {candidate.brier:.4f} vs "
                   f"{current.brier:.4f}: needs a higher AUC and a Brier no worse")


def maybe_auto_deploy(*, candidate: ModelVersion) -> bool:
    """Deploy ``candidate`` when no model is deployed or it beats the deployed one; True if it did."""
    if not getattr(settings, "MIA_ML_AUTO_DEPLOY", True):
        log.info("auto-deploy is off (MIA_ML_AUTO_DEPLOY); %s stays undeployed", candidate.version)
        return False
    current = selectors.deployed_model()
    if current is not None and current.pk == candidate.pk:
        return False
    ok, why = (True, "no model was deployed") if current is None else beats(candidate, current)
    log.info("auto-deploy %s: %s (%s)", candidate.version, "yes" if ok else "no", why)
    if ok:
        deploy(version=candidate, actor_name="auto-deploy", reason=why)
    return ok


# --- training runs -----------------------------------------------------------------------------------------


def start_run(*, source: str, message: str = "") -> TrainingRun:
    return TrainingRun.objects.create(source=source[:32], message=message[:500])


def report_progress(*, run: TrainingRun, progress: float, message: str) -> None:
    """Progress of a running training (no transaction: the page must see it while training runs)."""
    run.progress, run.message = max(0.0, min(1.0, progress)), message[:500]
    TrainingRun.objects.filter(pk=run.pk).update(progress=run.progress, message=run.message)


@transaction.atomic
def finish_run(*, run: TrainingRun, status: str, message: str, samples: int | None = None,
               model: ModelVersion | None = None) -> TrainingRun:
    run.status, run.message, run.finished_at = status, message[:500], timezone.now()
    run.samples, run.model = samples, model
    if status == TrainingRun.Status.SUCCEEDED:
        run.progress = 1.0
    run.save()
    final = {"status": status, "progress": run.progress, "run": run.pk}
    transaction.on_commit(lambda: alert(f"ML training {status}: {message}"[:300], **final))
    return run


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
    from mlfilter.ml import artifacts

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


# --- drift -------------------------------------------------------------------------------------------------


def _live_outcomes(version: str, limit: int) -> tuple[np.ndarray | None, float | None]:
    """Hit (target reached) per traded signal this model scored, oldest first, and the hit rate the
    model expected for them (their mean confidence). None when nothing has traded yet."""
    from trading.models import Trade

    trades = list(Trade.objects.filter(signal__model_version=version, signal__ml_confidence__isnull=False)
                  .select_related("signal").order_by("-exit_time")[:limit])
    if not trades:
        return None, None
    trades.reverse()
    hits = np.array([1.0 if t.exit_reason == "target" else 0.0 for t in trades])
    return hits, float(np.mean([t.signal.ml_confidence for t in trades]))


@transaction.atomic
def check_drift(*, limit: int = 500) -> dict[str, Any] | None:
    """PSI of the last ``limit`` candidate signals against the deployed model's baseline; stored on it."""
    row = ModelVersion.objects.select_for_update().filter(deployed=True).first()
    if row is None:
        return None
    live = selectors.live_feature_matrix(limit)
    if len(live) < DRIFT_MIN_ROWS or not row.drift_baseline.get("features"):
        report: dict[str, Any] = {"live_samples": int(len(live)), "psi": {}, "alert": False,
                                  "skipped": f"{len(live)} live signals; drift needs at least {DRIFT_MIN_ROWS}"}
    else:
        outcomes, expected = _live_outcomes(row.version, limit)
        report = drift_report(row.drift_baseline, live, FEATURES, live_outcomes=outcomes, expected_hit_rate=expected)
    report["checked_at"] = timezone.now().isoformat()
    report["model_version"] = row.version
    row.last_drift, row.last_drift_at = report, timezone.now()
    row.save(update_fields=["last_drift", "last_drift_at"])
    if report.get("alert"):
        drifted = ", ".join(report.get("drifted_features") or []) or "hit rate"
        message = f"ML drift on {row.version}: {drifted} (PSI > {report.get('psi_threshold')})"
        transaction.on_commit(lambda: alert(message, level="warning", version=row.version))
    return report
