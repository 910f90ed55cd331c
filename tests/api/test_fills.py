"""/api/v1/fills/: auth, side and role filters, dates, ordering, CSV."""

from __future__ import annotations

import datetime as dt

from tests.api.factories import T0, FillFactory
from tests.api.helpers import csv_header, csv_rows, refused, token_client

URL = "/api/v1/fills/"


def test_anonymous_visitors_are_refused(anon_client, db):
    assert refused(anon_client.get(URL))


def test_viewer_and_token_list_fills_newest_first(viewer_client, viewer):
    FillFactory(ts=T0)
    FillFactory(ts=T0 + dt.timedelta(seconds=30))
    rows = viewer_client.get(URL).json()["results"]
    assert [r["ts"] for r in rows] == ["2025-03-04T15:00:30Z", "2025-03-04T15:00:00Z"]
    assert rows[0]["client_order_id"].startswith("mia-") and rows[0]["role"] == "ENTRY"
    assert token_client(viewer).get(URL).json()["count"] == 2


def test_side_role_and_date_filters(viewer_client):
    FillFactory(ts=T0, side="BUY")
    FillFactory(ts=T0 + dt.timedelta(days=1), side="SELL", order__intent__role="STOP")
    assert viewer_client.get(URL, {"side": "SELL"}).json()["count"] == 1
    assert viewer_client.get(URL, {"role": "STOP"}).json()["count"] == 1
    assert viewer_client.get(URL, {"until": "2025-03-04"}).json()["results"][0]["side"] == "BUY"
    assert viewer_client.get(URL, {"ordering": "ts"}).json()["results"][0]["side"] == "BUY"


def test_csv(viewer_client):
    FillFactory(ts=T0, price=5801.75, commission_usd=1.25)
    assert csv_header(viewer_client.get(URL, {"format": "csv"})) == [
        "id", "ts", "exec_id", "side", "qty", "price", "commission_usd", "order", "client_order_id", "role"]
    [row] = csv_rows(viewer_client.get(URL, {"format": "csv"}))
    assert (row["ts"], row["price"], row["commission_usd"], row["role"]) == (
        "2025-03-04T15:00:00Z", "5801.75", "1.25", "ENTRY")
