"""The ML page at /ml/, the deploy button (risk admin only, audited) and the admin deploy action."""

from __future__ import annotations

import json
import re

import pytest

from mlfilter.models import ModelVersion, TrainingRun
from tests.conftest import csrf_token
from tests.mlfilter_app.conftest import make_version
from trading.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(tiny_dir, tmp_path, tiny_result):
    sim = make_version(tiny_dir, tmp_path, "mlf-sim", trained_on="simulated", deployed=True, samples=500,
                       feature_importances={"vwap_trend": 0.2, "side": 0.05},
                       calibration={"source": "walk_forward_oos",
                                    "bins": [{"lo": 0.1, "hi": 0.2, "predicted": 0.15, "observed": 0.12, "n": 40}]},
                       last_drift={"psi": {"vwap_trend": 0.31, "momentum_flow": 0.02}, "psi_threshold": 0.25,
                                   "alert": True, "checked_at": "2025-03-04T15:00:00+00:00"})
    sim.metrics["overall"].update(log_loss=0.41, precision_at_threshold=0.7, recall_at_threshold=0.1,
                                  filtered={"trades": 12, "profit_factor": 1.4, "expectancy_usd": 8.5},
                                  unfiltered={"trades": 300, "profit_factor": 0.9, "expectancy_usd": -3.2})
    sim.save()
    real = make_version(tiny_dir, tmp_path, "mlf-real", auc=0.58, brier=0.19)
    return sim, real


def test_the_page_and_the_deploy_button_need_a_login(anon_client, versions):
    assert anon_client.get("/ml/").status_code == 302
    response = anon_client.post(f"/ml/deploy/{versions[1].pk}/")
    assert response.status_code in (302, 403)
    assert ModelVersion.objects.get(deployed=True).version == "mlf-sim"


def test_a_viewer_sees_versions_scores_badges_and_charts_but_no_deploy_button(viewer_client, versions):
    TrainingRun.objects.create(source="schedule", status="running", progress=0.4, message="walk-forward fold 2/5")
    response = viewer_client.get("/ml/")
    assert response.status_code == 200
    page = response.content.decode()
    for needle in ("mlf-sim", "mlf-real", "DEPLOYED", "MODEL TRAINED ON SIMULATED DATA", "0.580", "1.40", "8.50",
                   "-3.20", 'id="ml-importances"', 'id="ml-calibration"', 'id="ml-drift"', "plotly.min.js",
                   "js/ml.js", "walk-forward fold 2/5", 'value="0.4"', "Drift alert"):
        assert needle in page, needle
    assert "/ml/deploy/" not in page and "Deploy</button>" not in page
    charts = json.loads(re.search(r'id="ml-charts" type="application/json">(.*?)</script>', page).group(1))
    assert charts["version"] == "mlf-sim" and charts["importances"]["names"] == ["side", "vwap_trend"]
    assert charts["drift"]["psi"] == [0.31, 0.02] and charts["drift"]["threshold"] == 0.25
    assert charts["calibration"]["bins"][0]["n"] == 40


def test_the_page_says_when_no_model_is_deployed(viewer_client):
    page = viewer_client.get("/ml/").content.decode()
    assert "No model deployed: signals pass unfiltered." in page and "ml_bootstrap" in page


def test_selecting_another_version_shows_its_charts(viewer_client, versions):
    page = viewer_client.get("/ml/?version=mlf-real").content.decode()
    assert '"version": "mlf-real"' in page


def test_a_risk_admin_deploys_from_the_page_and_it_is_audited(risk_admin_client, risk_admin, versions):
    page = risk_admin_client.get("/ml/").content.decode()
    assert f'action="/ml/deploy/{versions[1].pk}/"' in page
    token = csrf_token(risk_admin_client)
    response = risk_admin_client.post(f"/ml/deploy/{versions[1].pk}/", {"reason": "real data"},
                                      HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302 and response["Location"] == "/ml/"
    assert ModelVersion.objects.get(deployed=True).version == "mlf-real"
    audit = AuditLog.objects.get(action="ml.deploy")
    assert audit.user == risk_admin and audit.before == {"version": "mlf-sim"} and audit.reason == "real data"
    assert "mlf-real is now the deployed model" in risk_admin_client.get("/ml/").content.decode()


def test_an_operator_may_not_deploy(operator_client, versions):
    token = csrf_token(operator_client)
    response = operator_client.post(f"/ml/deploy/{versions[1].pk}/", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 403
    assert ModelVersion.objects.get(deployed=True).version == "mlf-sim"
    assert not AuditLog.objects.filter(action="ml.deploy").exists()


def test_deploy_without_the_csrf_token_is_refused(risk_admin_client, versions):
    assert risk_admin_client.post(f"/ml/deploy/{versions[1].pk}/").status_code == 403


def test_the_latest_run_is_served_as_json(viewer_client):
    TrainingRun.objects.create(source="schedule", status="skipped", message="skipped: no stored ES bars")
    body = viewer_client.get("/ml/runs/latest.json").json()
    assert body["run"]["status"] == "skipped" and body["run"]["message"] == "skipped: no stored ES bars"


def test_the_admin_deploy_action_is_for_risk_admins(risk_admin, operator, versions, client):
    from django.contrib.auth.models import Group

    from trading.management.commands.mia_setup import role_permissions

    for group in Group.objects.all():  # the model permissions `mia_setup` gives each role
        group.permissions.set(role_permissions(group.name))
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    page = client.get("/admin/mlfilter/modelversion/")
    assert page.status_code == 200 and "deploy_selected" not in page.content.decode()
    risk_admin.is_staff = True
    risk_admin.save()
    client.force_login(risk_admin)
    assert "deploy_selected" in client.get("/admin/mlfilter/modelversion/").content.decode()
    response = client.post("/admin/mlfilter/modelversion/", {"action": "deploy_selected",
                                                              "_selected_action": [versions[1].pk]})
    assert response.status_code == 302
    assert ModelVersion.objects.get(deployed=True).version == "mlf-real"
    assert AuditLog.objects.get(action="ml.deploy").actor == "rita"
