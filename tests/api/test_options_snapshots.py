"""/api/v1/options/snapshots/ on the shared list machinery: token, filters, ordering, streamed CSV."""

from __future__ import annotations

import datetime as dt

from tests.api.helpers import csv_rows, refused, token_client
from tests.options_app.conftest import make_snapshot

URL = "/api/v1/options/snapshots/"
T = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)


def test_anonymous_visitors_are_refused(anon_client, db):
    assert refused(anon_client.get(URL))


def test_a_token_is_enough(viewer):
    make_snapshot(T, 0.6)
    assert token_client(viewer).get(URL).json()["count"] == 1


def test_valid_filter_and_ordering(viewer_client):
    make_snapshot(T, 0.6)
    make_snapshot(T + dt.timedelta(minutes=5), 0.5, valid=False)
    assert viewer_client.get(URL, {"valid": "true"}).json()["count"] == 1
    rows = viewer_client.get(URL, {"ordering": "asof"}).json()["results"]
    assert [r["asof"] for r in rows] == ["2025-03-04T15:00:00Z", "2025-03-04T15:05:00Z"]


def test_csv_streams_every_row_past_one_page(viewer_client):
    for i in range(120):
        make_snapshot(T + dt.timedelta(minutes=5 * i), 0.5, gamma_flip=5790.0)
    response = viewer_client.get(URL, {"format": "csv", "underlying": "spx"})
    assert response["Content-Disposition"].startswith('attachment; filename="mia-options-snapshots-')
    rows = csv_rows(response)
    assert len(rows) == 120 and rows[0]["asof"] > rows[-1]["asof"] and rows[0]["gamma_flip"] == "5790.0"
    assert rows[0]["errors"] == "[]"
