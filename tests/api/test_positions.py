"""/api/v1/positions/: auth, symbol and date filters, ordering, CSV."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.api.factories import PositionFactory
from tests.api.helpers import csv_rows, refused, token_client
from trading.models import Position

URL = "/api/v1/positions/"


def test_anonymous_visitors_are_refused(anon_client, db):
    assert refused(anon_client.get(URL))


def test_viewer_and_token_list_positions(viewer_client, viewer):
    PositionFactory(symbol="ES", qty=-2, avg_price=5800.0)
    [row] = viewer_client.get(URL).json()["results"]
    assert (row["symbol"], row["qty"]) == ("ES", -2)
    assert token_client(viewer).get(URL).status_code == 200


def test_symbol_date_filters_and_ordering(viewer_client):
    PositionFactory(symbol="ES", realized_pnl_usd=100.0)
    stale = PositionFactory(symbol="MES", realized_pnl_usd=-50.0)
    Position.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - dt.timedelta(days=5))
    assert viewer_client.get(URL, {"symbol": "es"}).json()["count"] == 1
    assert [r["symbol"] for r in viewer_client.get(URL, {"since": timezone.now().date()}).json()["results"]] == ["ES"]
    rows = viewer_client.get(URL, {"ordering": "realized_pnl_usd"}).json()["results"]
    assert [r["symbol"] for r in rows] == ["MES", "ES"]


def test_csv(viewer_client):
    PositionFactory(symbol="ES", qty=1, avg_price=5800.25, last_price=None)
    [row] = csv_rows(viewer_client.get(URL, {"format": "csv"}))
    assert (row["symbol"], row["qty"], row["avg_price"], row["last_price"]) == ("ES", "1", "5800.25", "")
