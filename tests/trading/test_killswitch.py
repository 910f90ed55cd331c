"""The kill switch: roles, audit trail, latching, CLI, API and dashboard POSTs."""

import json

import pytest
from django.core.management import call_command

from tests.conftest import csrf_token
from trading import selectors, services
from trading.models import AuditLog, TradingState

State = TradingState.State


def test_halt_is_latched_and_audited_with_before_and_after(operator, trading_state):
    services.set_trading_state(to=State.HALTED, actor=services.Actor.for_user(operator), reason="news spike")
    assert selectors.trading_state().state == State.HALTED
    row = AuditLog.objects.filter(action="trading_state.halted").get()
    assert row.user == operator and row.reason == "news spike"
    assert row.before["state"] == State.ACTIVE and row.after["state"] == State.HALTED


def test_operator_cannot_resume(operator, trading_state):
    services.set_trading_state(to=State.HALTED, actor=services.Actor.for_user(operator), reason="x")
    with pytest.raises(services.PermissionDenied):
        services.set_trading_state(to=State.ACTIVE, actor=services.Actor.for_user(operator), reason="y")
    assert selectors.trading_state().state == State.HALTED


def test_an_operator_cannot_lift_a_halt_to_reduce_only(operator, trading_state):
    services.set_trading_state(to=State.HALTED, actor=services.Actor.for_user(operator), reason="x")
    with pytest.raises(services.PermissionDenied):
        services.set_trading_state(to=State.REDUCING, actor=services.Actor.for_user(operator), reason="y")


def test_viewer_cannot_halt(viewer, trading_state):
    with pytest.raises(services.PermissionDenied):
        services.set_trading_state(to=State.HALTED, actor=services.Actor.for_user(viewer), reason="x")


def test_a_reason_is_required(risk_admin, trading_state):
    with pytest.raises(ValueError):
        services.set_trading_state(to=State.HALTED, actor=services.Actor.for_user(risk_admin), reason="  ")


def test_setup_never_overwrites_a_latched_halt(operator, trading_state):
    services.set_trading_state(to=State.HALTED, actor=services.Actor.for_user(operator), reason="x")
    services.ensure_trading_state()
    assert selectors.trading_state().state == State.HALTED


def test_missing_state_row_reads_as_halted(db):
    assert selectors.trading_state().state == State.HALTED


def test_killswitch_command_halts_and_reports_status(trading_state, capsys):
    call_command("killswitch", "halt", "--reason", "cli test")
    call_command("killswitch", "status")
    out = capsys.readouterr().out
    assert "HALTED — cli test" in out
    assert AuditLog.objects.filter(actor__startswith="cli:", action="trading_state.halted").exists()


class TestApi:
    url = "/api/v1/killswitch/"

    def _post(self, client, action):
        return client.post(self.url, json.dumps({"action": action, "reason": "api"}),
                           content_type="application/json", HTTP_X_CSRFTOKEN=csrf_token(client))

    def test_operator_may_halt(self, operator_client, trading_state):
        response = self._post(operator_client, "halt")
        assert response.status_code == 200 and response.json()["state"] == State.HALTED

    def test_viewer_cannot_halt(self, viewer_client, trading_state):
        assert self._post(viewer_client, "halt").status_code == 403
        assert selectors.trading_state().state == State.ACTIVE

    def test_operator_cannot_resume(self, operator_client, trading_state):
        self._post(operator_client, "halt")
        assert self._post(operator_client, "resume").status_code == 403
        assert selectors.trading_state().state == State.HALTED

    def test_risk_admin_may_resume(self, risk_admin_client, trading_state):
        self._post(risk_admin_client, "halt")
        assert self._post(risk_admin_client, "resume").json()["state"] == State.ACTIVE

    def test_post_without_csrf_is_forbidden(self, operator_client, trading_state):
        response = operator_client.post(self.url, json.dumps({"action": "halt"}), content_type="application/json")
        assert response.status_code == 403
        assert selectors.trading_state().state == State.ACTIVE

    def test_anonymous_is_refused(self, anon_client, trading_state):
        assert anon_client.post(self.url, {"action": "halt"}).status_code in (401, 403)

    def test_token_auth_works_without_csrf(self, operator, trading_state):
        from django.test import Client
        from rest_framework.authtoken.models import Token

        token = Token.objects.create(user=operator)
        response = Client(enforce_csrf_checks=True).post(
            self.url, json.dumps({"action": "reduce"}), content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token.key}")
        assert response.status_code == 200 and response.json()["state"] == State.REDUCING

    def test_unknown_action_is_a_400(self, operator_client, trading_state):
        assert self._post(operator_client, "explode").status_code == 400


class TestDashboardPost:
    def test_dashboard_halt_needs_csrf(self, operator_client, trading_state):
        assert operator_client.post("/killswitch/", {"action": "halt"}).status_code == 403

    def test_dashboard_halt_with_csrf_swaps_in_the_halted_state(self, operator_client, trading_state):
        token = csrf_token(operator_client)
        response = operator_client.post("/killswitch/", {"action": "halt", "reason": "r"}, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 200 and b'data-state="HALTED"' in response.content

    def test_viewer_sees_a_refusal(self, viewer_client, trading_state):
        token = csrf_token(viewer_client)
        response = viewer_client.post("/killswitch/", {"action": "halt"}, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 403


def test_the_kill_switch_command_loads_no_heavy_library(tmp_path):
    """The emergency tool must start fast (`make bench`: killswitch_cli_s): nothing it needs pulls in
    pandas, scikit-learn, XGBoost or plotly's figures, so a busy machine still answers in under 2 s."""
    import subprocess
    import sys

    from tests.shared_data import REPO

    code = ("import os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'mia_site.settings'; import django; "
            "django.setup(); from django.core.management import load_command_class; "
            "load_command_class('trading', 'killswitch'); import trading.services, trading.selectors; "
            "heavy = ('pandas', 'sklearn', 'xgboost', 'plotly.graph_objects', 'scipy'); "
            "print(sorted(m for m in heavy if m in sys.modules))")
    env = {"PATH": "/usr/bin:/bin", "MIA_VAR_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.strip() == "[]"
