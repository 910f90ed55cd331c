"""/api/v1/trades/: auth, date and natural filters, ordering, pagination, the contract CSV."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from tests.api.factories import T0, TradeFactory
from tests.api.helpers import csv_header, csv_rows, refused, token_client
from tests.factories import UserFactory

URL = "/api/v1/trades/"
CONTRACT = ["entry_time", "exit_time", "side", "qty", "entry_price", "exit_price", "pnl_usd", "commission_usd",
            "exit_reason"]


def test_anonymous_visitors_are_refused_without_a_redirect(anon_client, db):
    assert refused(anon_client.get(URL))
    assert refused(anon_client.get(URL, {"format": "csv"}))


def test_a_user_without_a_role_is_refused(db):
    client = token_client(UserFactory(username="nobody"))
    assert client.get(URL).status_code == 403


def test_viewer_lists_trades_newest_exit_first(viewer_client):
    TradeFactory.create_batch(3)
    body = viewer_client.get(URL).json()
    assert body["count"] == 3
    exits = [row["exit_time"] for row in body["results"]]
    assert exits == sorted(exits, reverse=True)
    assert body["results"][0]["exit_time"].endswith("Z")


def test_a_token_is_enough(viewer):
    TradeFactory()
    response = token_client(viewer).get(URL)
    assert response.status_code == 200 and response.json()["count"] == 1


def test_since_and_until_bound_the_exit_time(viewer_client):
    for day in range(3):
        TradeFactory(entry_time=T0 + dt.timedelta(days=day))  # exits 2025-03-04/05/06 15:20 UTC
    def days(**params):
        return [r["exit_time"][:10] for r in viewer_client.get(URL, params).json()["results"]]
    assert days(since="2025-03-05") == ["2025-03-06", "2025-03-05"]
    assert days(until="2025-03-05") == ["2025-03-05", "2025-03-04"]  # a bare date covers the whole day
    assert days(since="2025-03-05", until="2025-03-05") == ["2025-03-05"]
    assert days(until="2025-03-05T15:19:59Z") == ["2025-03-04"]
    assert days(since="2025-03-05T16:20:00+01:00") == ["2025-03-06", "2025-03-05"]  # an offset is honoured
    assert days(since="2025-03-05T15:20") == ["2025-03-06", "2025-03-05"]  # naive means UTC


def test_a_bad_date_is_a_400_in_json_even_for_csv(viewer_client, db):
    for params in ({"since": "yesterday"}, {"until": "2025-02-30"}, {"since": "x", "format": "csv"}):
        response = viewer_client.get(URL, params)
        assert response.status_code == 400 and response["Content-Type"] == "application/json"
        assert set(response.json()) <= {"since", "until"}


def test_side_and_exit_reason_filters(viewer_client):
    TradeFactory(side="LONG", exit_reason="target")
    TradeFactory(side="SHORT", exit_reason="stop")
    TradeFactory(side="SHORT", exit_reason="time")
    assert viewer_client.get(URL, {"side": "SHORT"}).json()["count"] == 2
    assert viewer_client.get(URL, {"side": "SHORT", "exit_reason": "STOP"}).json()["count"] == 1
    assert viewer_client.get(URL, {"side": "sideways"}).status_code == 400


def test_ordering_by_pnl(viewer_client):
    for pnl in (50.0, -120.0, 300.0):
        TradeFactory(pnl_usd=pnl)
    pnl = [r["pnl_usd"] for r in viewer_client.get(URL, {"ordering": "pnl_usd"}).json()["results"]]
    assert pnl == [-120.0, 50.0, 300.0]
    pnl = [r["pnl_usd"] for r in viewer_client.get(URL, {"ordering": "-pnl_usd"}).json()["results"]]
    assert pnl == [300.0, 50.0, -120.0]


def test_pages_of_page_size_with_a_maximum(viewer_client):
    TradeFactory.create_batch(5)
    first = viewer_client.get(URL, {"page_size": 2}).json()
    second = viewer_client.get(URL, {"page_size": 2, "page": 2}).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    assert {r["id"] for r in first["results"]}.isdisjoint(r["id"] for r in second["results"])
    assert viewer_client.get(URL, {"page": 9}).status_code == 404
    huge = viewer_client.get(URL, {"page_size": 10**6}).json()  # clamped to 1000, not refused
    assert len(huge["results"]) == 5


def test_csv_has_the_backtest_contract_columns(viewer_client):
    TradeFactory(entry_time=T0, side="SHORT", entry_price=5810.0, exit_price=5806.0, pnl_usd=195.0,
                 exit_reason="target")
    response = viewer_client.get(URL, {"format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="mia-trades-\d{8}T\d{6}Z\.csv"', response["Content-Disposition"])
    assert csv_header(viewer_client.get(URL, {"format": "csv"})) == CONTRACT
    [row] = csv_rows(viewer_client.get(URL, {"format": "csv"}))
    assert row == {"entry_time": "2025-03-04T15:00:00Z", "exit_time": "2025-03-04T15:20:00Z", "side": "SHORT",
                   "qty": "1", "entry_price": "5810.0", "exit_price": "5806.0", "pnl_usd": "195.0",
                   "commission_usd": "5.0", "exit_reason": "target"}


def test_csv_ignores_pagination_and_keeps_filters_and_ordering(viewer_client):
    for i in range(150):
        TradeFactory(side="LONG" if i % 3 else "SHORT", pnl_usd=float(i))
    rows = csv_rows(viewer_client.get(URL, {"format": "csv", "page_size": 10, "side": "LONG", "ordering": "pnl_usd"}))
    assert len(rows) == 100
    assert [float(r["pnl_usd"]) for r in rows] == sorted(float(r["pnl_usd"]) for r in rows)


def test_an_empty_csv_still_has_its_header(viewer_client, db):
    response = viewer_client.get(URL, {"format": "csv"})
    assert csv_header(response) == CONTRACT


@pytest.mark.parametrize("raw", ["since=%", "since=%ZZ", "until=%25s%25d", "since=100%"])
def test_a_malformed_filter_value_is_a_400_with_a_message_never_a_500(viewer_client, raw):
    # The raw query string, as a browser or curl sends it (the test client would percent-encode "%").
    response = viewer_client.get("/api/v1/trades/", QUERY_STRING=raw)
    assert response.status_code == 400
    assert "ISO-8601" in json.dumps(response.json())
