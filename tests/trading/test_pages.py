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


def test_support_resistance_levels_come_from_the_prior_session_and_the_overnight_range(db):
    from datetime import UTC, datetime, timedelta

    from trading import selectors
    from trading.models import Bar

    def bar(ts, high, low, close):
        Bar.objects.create(symbol="ES", ts=ts, open=close, high=high, low=low, close=close, volume=1, source="t")

    monday = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # Monday 09:00 CT: the Monday session
    bar(monday, 5010, 4990, 5000)
    bar(monday + timedelta(hours=2), 5020, 5005, 5015)  # prior session high 5020, low 4990, close 5015
    evening = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)  # Monday 18:00 CT: Tuesday's session, overnight
    bar(evening, 5030, 5012, 5025)
    bar(datetime(2025, 3, 4, 15, 0, tzinfo=UTC), 5040, 5020, 5035)  # Tuesday 09:00 CT: cash session
    levels = {level["label"]: level["price"] for level in selectors.support_resistance_levels("ES")}
    assert levels == {"prior high": 5020, "prior low": 4990, "prior close": 5015, "overnight high": 5030,
                      "overnight low": 5012}
