"""Login everywhere but /login/ and /healthz; health says what is up without secrets."""

import pytest


@pytest.mark.parametrize("url", ["/", "/partials/state/", "/admin/"])
def test_pages_need_a_login(anon_client, url, db):
    response = anon_client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]


def test_api_needs_authentication(anon_client, db):
    assert anon_client.get("/api/v1/status/").status_code in (401, 403)
    assert anon_client.get("/api/v1/schema/").status_code in (401, 403)


def test_login_page_is_public(anon_client, db):
    assert anon_client.get("/login/").status_code == 200


def test_healthz_is_public_and_has_no_secrets(anon_client, db, settings):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"db", "redis", "workers", "gateway", "feed_age_s", "status"}
    assert body["db"]["ok"] is True
    assert settings.SECRET_KEY not in response.content.decode()


def test_dashboard_shows_state_and_kill_switch_for_an_operator(operator_client, trading_state):
    page = operator_client.get("/").content.decode()
    assert 'data-state="ACTIVE"' in page
    assert 'data-action="halt"' in page and 'data-action="resume"' not in page
    assert "plotly.min.js" in page and "htmx-2.min.js" in page


def test_viewer_gets_no_kill_buttons(viewer_client, trading_state):
    page = viewer_client.get("/").content.decode()
    assert 'data-action="halt"' not in page


def test_openapi_schema_for_logged_in_users(viewer_client, db):
    response = viewer_client.get("/api/v1/schema/")
    assert response.status_code == 200 and b"/api/v1/killswitch/" in response.content
