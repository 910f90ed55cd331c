"""Registering, deploying and auto-deploying model versions (mlfilter.services)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from mlfilter import jobs, services
from mlfilter.ml.artifacts import FORMAT_VERSION, ModelFormatError
from mlfilter.ml.dataset import FEATURES, INPUTS
from mlfilter.models import ModelVersion
from tests.mlfilter_app.conftest import TINY, make_version
from trading.models import AuditLog

pytestmark = pytest.mark.django_db


def test_register_records_scores_calibration_and_drift_baseline(tiny_result, tiny_dir):
    row = jobs.register_model(result=tiny_result, artifact_dir=tiny_dir, trained_on="simulated", source="test",
                                  config=TINY)
    assert row.version == tiny_result.model.meta["model_version"] and not row.deployed and row.simulated
    assert row.format_version == FORMAT_VERSION and row.features == list(FEATURES)
    assert row.metrics["summary"] == tiny_result.summary()
    assert row.auc == tiny_result.overall["auc"] and len(row.metrics["folds"]) == len(tiny_result.per_fold)
    assert row.metrics["overall"]["filtered"]["trades"] >= 0 and "unfiltered" in row.metrics["overall"]
    assert set(row.feature_importances) == set(INPUTS)
    assert row.parameters["ensemble"]["threshold"] == 0.65 and row.parameters["training"]["min_samples"] == 100
    assert row.threshold == 0.65 and row.window_start < row.window_end and len(row.data_hash) == 64
    # reliability bins come from the pooled walk-forward predictions, every prediction in one bin
    assert row.calibration["source"] == "walk_forward_oos"
    assert sum(b["n"] for b in row.calibration["bins"]) == len(tiny_result.oos_proba)
    assert all(0 <= b["observed"] <= 1 and b["lo"] <= b["predicted"] <= b["hi"] for b in row.calibration["bins"])
    assert set(row.drift_baseline["features"]) == set(FEATURES)


def test_deploy_switches_the_one_deployed_model_and_audits_it(tiny_dir, tmp_path, risk_admin, pushes):
    a = make_version(tiny_dir, tmp_path, "mlf-a")
    b = make_version(tiny_dir, tmp_path, "mlf-b")
    services.deploy(version=a, actor_name="setup", reason="first")
    services.deploy(version="mlf-b", actor_name="rita", user=risk_admin, reason="better")
    a.refresh_from_db()
    b.refresh_from_db()
    assert not a.deployed and b.deployed and b.deployed_by == "rita" and b.deployed_at is not None
    assert ModelVersion.objects.filter(deployed=True).count() == 1
    audit = AuditLog.objects.filter(action="ml.deploy").order_by("id")
    assert [(x.before, x.after["version"]) for x in audit] == [({"version": None}, "mlf-a"),
                                                              ({"version": "mlf-a"}, "mlf-b")]
    assert audit.last().user == risk_admin and audit.last().reason == "better"


def test_the_database_refuses_a_second_deployed_model(tiny_dir, tmp_path):
    make_version(tiny_dir, tmp_path, "mlf-a", deployed=True)
    b = make_version(tiny_dir, tmp_path, "mlf-b")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=b.pk).update(deployed=True)


def test_deploying_the_deployed_model_again_changes_nothing(tiny_dir, tmp_path):
    a = make_version(tiny_dir, tmp_path, "mlf-a")
    services.deploy(version=a, actor_name="setup")
    services.deploy(version=a, actor_name="setup")
    assert AuditLog.objects.filter(action="ml.deploy").count() == 1


def test_a_model_whose_artifacts_do_not_load_is_never_deployed(tiny_dir, tmp_path):
    a = make_version(tiny_dir, tmp_path, "mlf-a")
    (tmp_path / "mlf-a" / "forest.skops").write_bytes(b"corrupt")
    with pytest.raises(ModelFormatError):
        services.deploy(version=a, actor_name="setup")
    assert not ModelVersion.objects.filter(deployed=True).exists()
    assert not AuditLog.objects.filter(action="ml.deploy").exists()


def test_only_a_risk_admin_may_deploy(tiny_dir, tmp_path, operator):
    a = make_version(tiny_dir, tmp_path, "mlf-a")
    with pytest.raises(services.PermissionDenied):
        services.deploy(version=a, actor_name="oscar", user=operator)
    assert not ModelVersion.objects.filter(deployed=True).exists()


def test_auto_deploy_takes_the_first_model(tiny_dir, tmp_path):
    a = make_version(tiny_dir, tmp_path, "mlf-a")
    assert services.maybe_auto_deploy(candidate=a)
    assert AuditLog.objects.get(action="ml.deploy").actor == "auto-deploy"


@pytest.mark.parametrize(("deployed", "candidate", "expected"), [
    ({"auc": 0.55, "brier": 0.20}, {"auc": 0.56, "brier": 0.20}, True),    # higher AUC, same Brier
    ({"auc": 0.55, "brier": 0.20}, {"auc": 0.56, "brier": 0.21}, False),   # higher AUC, worse Brier
    ({"auc": 0.55, "brier": 0.20}, {"auc": 0.55, "brier": 0.19}, False),   # equal AUC is not better
    ({"auc": 0.55, "brier": 0.20}, {"auc": None, "brier": 0.10}, False),   # no score never wins
    ({"auc": 0.55, "brier": 0.20, "trained_on": "simulated"}, {"auc": 0.51, "brier": 0.25}, True),  # real > sim
    ({"auc": 0.55, "brier": 0.20}, {"auc": 0.70, "brier": 0.10, "trained_on": "simulated"}, False),  # sim < real
])
def test_auto_deploy_only_when_the_candidate_beats_the_deployed_model(tiny_dir, tmp_path, deployed, candidate,
                                                                     expected):
    current = make_version(tiny_dir, tmp_path, "mlf-current", **deployed)
    services.deploy(version=current, actor_name="setup")
    new = make_version(tiny_dir, tmp_path, "mlf-new", **candidate)
    assert services.maybe_auto_deploy(candidate=new) is expected
    assert ModelVersion.objects.get(deployed=True).version == ("mlf-new" if expected else "mlf-current")


def test_auto_deploy_can_be_switched_off(tiny_dir, tmp_path, settings):
    settings.MIA_ML_AUTO_DEPLOY = False
    a = make_version(tiny_dir, tmp_path, "mlf-a")
    assert not services.maybe_auto_deploy(candidate=a)
    assert not ModelVersion.objects.filter(deployed=True).exists()
