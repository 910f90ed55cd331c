"""The OpenAPI schema lists every endpoint with its parameters; the Swagger UI is served locally."""

from __future__ import annotations

import pytest
import yaml

LISTS = ["trades", "signals", "orders", "fills", "daily-stats", "positions", "models", "options/snapshots"]


@pytest.fixture
def schema(viewer_client) -> dict:
    response = viewer_client.get("/api/v1/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_refuses_anonymous_visitors(anon_client, db):
    assert anon_client.get("/api/v1/schema/").status_code in (401, 403)


def test_the_schema_lists_every_endpoint(schema):
    paths = set(schema["paths"])
    assert {f"/api/v1/{name}/" for name in LISTS} | {"/api/v1/status/", "/api/v1/killswitch/"} <= paths


@pytest.mark.parametrize("name", LISTS)
def test_every_list_documents_format_dates_ordering_and_pages(schema, name):
    get = schema["paths"][f"/api/v1/{name}/"]["get"]
    params = {p["name"]: p for p in get["parameters"]}
    assert {"format", "since", "until", "ordering", "page", "page_size"} <= set(params)
    assert params["format"]["schema"]["enum"] == ["csv", "json"]
    assert "ISO-8601" in params["since"]["description"] and "whole day" in params["until"]["description"]
    content = get["responses"]["200"]["content"]
    assert content["text/csv"]["schema"]["type"] == "string"
    assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/Paginated")


def test_natural_filters_are_documented(schema):
    def names(path: str) -> set[str]:
        return {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
    assert {"side", "exit_reason"} <= names("/api/v1/trades/")
    assert {"label", "regime", "strategy", "risk_approved"} <= names("/api/v1/signals/")
    assert {"state", "role"} <= names("/api/v1/orders/")


def test_the_swagger_ui_is_served_without_a_cdn(viewer_client, anon_client, db):
    page = viewer_client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "unpkg" not in html
    assert viewer_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
    assert anon_client.get("/api/v1/docs/")["Location"].startswith("/login/")
