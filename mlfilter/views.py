"""The ML page: model versions and their out-of-sample scores, charts of the selected one, deploy, runs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mlfilter import selectors, services
from mlfilter.ml.artifacts import ModelFormatError
from mlfilter.models import ModelVersion
from trading import roles

PAGE_VERSIONS = 50


def _row(v: ModelVersion) -> dict[str, Any]:
    o = v.overall
    return {"pk": v.pk, "version": v.version, "created_at": v.created_at, "trained_on": v.trained_on,
            "simulated": v.simulated, "source": v.source, "deployed": v.deployed, "deployed_at": v.deployed_at,
            "deployed_by": v.deployed_by, "samples": v.samples, "threshold": v.threshold,
            "window_start": v.window_start, "window_end": v.window_end, "folds": len(v.metrics.get("folds") or []),
            "auc": o.get("auc"), "brier": o.get("brier"), "log_loss": o.get("log_loss"),
            "precision": o.get("precision_at_threshold"), "recall": o.get("recall_at_threshold"),
            "filtered": o.get("filtered") or {}, "unfiltered": o.get("unfiltered") or {}}


def _charts(v: ModelVersion | None) -> dict[str, Any]:
    if v is None:
        return {}
    imp = sorted((v.feature_importances or {}).items(), key=lambda kv: kv[1])
    drift = v.last_drift or {}
    psi = drift.get("psi") or {}
    return {"version": v.version,
            "importances": {"names": [k for k, _ in imp], "values": [val for _, val in imp]},
            "calibration": v.calibration or {},
            "drift": {"names": list(psi), "psi": list(psi.values()), "threshold": drift.get("psi_threshold", 0.25),
                      "checked_at": drift.get("checked_at"), "skipped": drift.get("skipped"),
                      "alert": bool(drift.get("alert"))}}


@require_GET
def ml_page(request: HttpRequest) -> HttpResponse:
    versions = list(selectors.model_versions()[:PAGE_VERSIONS])
    wanted = request.GET.get("version")
    deployed = next((v for v in versions if v.deployed), None) or selectors.deployed_model()
    newest = versions[0] if versions else None
    selected = next((v for v in versions if v.version == wanted), None) or deployed or newest
    run = selectors.latest_run()
    context = {"versions": [_row(v) for v in versions], "deployed": _row(deployed) if deployed else None,
               "selected": _row(selected) if selected else None, "charts": _charts(selected),
               "run": run.as_message() if run else None,
               "can_deploy": roles.has_role(request.user, roles.RISK_ADMIN)}
    return render(request, "mlfilter/ml.html", context)


@require_POST
def deploy_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not roles.has_role(request.user, roles.RISK_ADMIN):
        raise PermissionDenied("only a risk admin may deploy a model")
    row = get_object_or_404(ModelVersion, pk=pk)
    reason = request.POST.get("reason", "").strip() or "deployed from the ML page"
    try:
        services.deploy(version=row, actor_name=request.user.get_username(), user=request.user, reason=reason)
    except ModelFormatError as exc:
        messages.error(request, f"{row.version} was not deployed: its artifacts do not load ({exc}).")
    else:
        messages.success(request, f"{row.version} is now the deployed model.")
    return redirect("ml")


@never_cache
@require_GET
def latest_run_view(request: HttpRequest) -> JsonResponse:
    run = selectors.latest_run()
    return JsonResponse({"run": run.as_message() if run else None})
