"""/api/v1/options/levels.csv and /api/v1/options/snapshots/: auth, content, filters."""

from __future__ import annotations

import csv
import datetime as dt
import io

from rest_framework.authtoken.models import Token

from tests.options_app.conftest import make_snapshot

T = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)
LEVELS = "/api/v1/options/levels.csv"
SNAPSHOTS = "/api/v1/options/snapshots/"


def test_levels_csv_refuses_anonymous_users(anon_client, db):
    assert anon_client.get(LEVELS).status_code in (401, 403)


def test_levels_csv_lists_es_prices(viewer_client, db):
    make_snapshot(T, 0.6, gamma_flip=5790.0, call_wall=5850.0, put_wall=5700.0, es_basis=15.0)
    response = viewer_client.get(LEVELS)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["label"], r["price"]) for r in rows] == [
        ("SPX gamma flip", "5805.00"), ("SPX call wall", "5865.00"), ("SPX put wall", "5715.00")]
    assert all(r["color"].startswith("#") for r in rows)


def test_levels_csv_accepts_a_token(anon_client, viewer):
    token = Token.objects.create(user=viewer)
    response = anon_client.get(LEVELS, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response.content.decode().startswith("price,label,color")


def test_snapshots_refuse_anonymous_users(anon_client, db):
    assert anon_client.get(SNAPSHOTS).status_code in (401, 403)


def test_snapshots_list_newest_first_with_filters(viewer_client, db):
    for i in range(3):
        make_snapshot(T + dt.timedelta(days=i), 0.4 + 0.1 * i)
    make_snapshot(T, 0.5, underlying="NDX")
    body = viewer_client.get(SNAPSHOTS).json()
    assert body["count"] == 4 and "profile" not in body["results"][0]
    spx = viewer_client.get(SNAPSHOTS, {"underlying": "spx"}).json()["results"]
    assert [r["asof"][:10] for r in spx] == ["2025-03-06", "2025-03-05", "2025-03-04"]
    window = viewer_client.get(SNAPSHOTS, {"underlying": "SPX", "since": "2025-03-05", "until": "2025-03-05"})
    assert [r["asof"][:10] for r in window.json()["results"]] == ["2025-03-05"]
    since = viewer_client.get(SNAPSHOTS, {"since": "2025-03-05T15:00:00Z"}).json()
    assert since["count"] == 2


def test_snapshots_reject_a_bad_date(viewer_client, db):
    response = viewer_client.get(SNAPSHOTS, {"since": "yesterday"})
    assert response.status_code == 400 and "since" in response.json()


def test_snapshots_as_csv(viewer_client, db):
    make_snapshot(T, 0.6, gamma_flip=5790.0)
    response = viewer_client.get(SNAPSHOTS, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["underlying"] == "SPX" and float(rows[0]["gamma_flip"]) == 5790.0


def test_snapshot_detail_has_the_profile(viewer_client, db):
    row = make_snapshot(T, 0.6, profile=[{"strike": 5800.0, "total_gex_bn": 1.0}])
    body = viewer_client.get(f"{SNAPSHOTS}{row.pk}/").json()
    assert body["profile"] == [{"strike": 5800.0, "total_gex_bn": 1.0}]


def test_the_openapi_schema_lists_the_options_endpoints(viewer_client, db):
    response = viewer_client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/options/snapshots/" in response.content and b"/api/v1/options/levels.csv" in response.content
