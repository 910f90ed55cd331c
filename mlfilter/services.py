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

import logging
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mlfilter import selectors
from mlfilter.ml.artifacts import ModelFormatError, load_model
from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.drift import drift_report
from mlfilter.models import ModelVersion, TrainingRun
from trading import roles
from trading.models import AuditLog, Trade
from trading.push import push
from trading.services import PermissionDenied

log = logging.getLogger(__name__)
DRIFT_MIN_ROWS = 30

__all__ = ["PermissionDenied", "alert", "beats", "check_drift", "deploy", "finish_run", "maybe_auto_deploy",
           "models_root", "report_progress", "start_run", "verify_artifacts"]


def models_root() -> Path:
    return Path(settings.VAR_DIR) / "models"


def alert(message: str, *, level: str = "info", **extra: Any) -> None:
    """A dashboard alert from the ML side (DESIGN section 6 ``alert`` messages, ``source: "ml"``)."""
    push("alert", {"level": level, "message": message, "source": "ml", **extra})


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


# --- drift -------------------------------------------------------------------------------------------------


def _live_outcomes(version: str, limit: int) -> tuple[np.ndarray | None, float | None]:
    """Hit (target reached) per traded signal this model scored, oldest first, and the hit rate the
    model expected for them (their mean confidence). None when nothing has traded yet."""
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
