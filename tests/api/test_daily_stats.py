"""/api/v1/daily-stats/: auth, the trading-day range, ordering by P&L, CSV."""

from __future__ import annotations

import datetime as dt

from tests.api.factories import DailyStatsFactory
from tests.api.helpers import csv_header, csv_rows, refused, token_client

URL = "/api/v1/daily-stats/"


def test_anonymous_visitors_are_refused(anon_client, db):
    assert refused(anon_client.get(URL))


def test_viewer_and_token_list_days_newest_first(viewer_client, viewer):
    for n in range(3):
        DailyStatsFactory(day=dt.date(2025, 3, 3) + dt.timedelta(days=n))
    assert [r["day"] for r in viewer_client.get(URL).json()["results"]] == ["2025-03-05", "2025-03-04", "2025-03-03"]
    assert token_client(viewer).get(URL).json()["count"] == 3


def test_since_until_compare_the_trading_day(viewer_client):
    for n in range(4):
        DailyStatsFactory(day=dt.date(2025, 3, 3) + dt.timedelta(days=n))
    days = [r["day"] for r in viewer_client.get(URL, {"since": "2025-03-04", "until": "2025-03-05"}).json()["results"]]
    assert days == ["2025-03-05", "2025-03-04"]
    # a date-time is reduced to its UTC date
    assert viewer_client.get(URL, {"since": "2025-03-05T23:30:00-05:00"}).json()["count"] == 1


def test_ordering_by_realized_pnl(viewer_client):
    for n, pnl in enumerate((-200.0, 450.0, 10.0)):
        DailyStatsFactory(day=dt.date(2025, 3, 3) + dt.timedelta(days=n), realized_pnl_usd=pnl)
    rows = viewer_client.get(URL, {"ordering": "-realized_pnl_usd"}).json()["results"]
    assert [r["realized_pnl_usd"] for r in rows] == [450.0, 10.0, -200.0]


def test_csv(viewer_client):
    DailyStatsFactory(day=dt.date(2025, 3, 4), realized_pnl_usd=-75.5)
    assert csv_header(viewer_client.get(URL, {"format": "csv"}))[:2] == ["day", "realized_pnl_usd"]
    [row] = csv_rows(viewer_client.get(URL, {"format": "csv"}))
    assert (row["day"], row["realized_pnl_usd"], row["last_loss_at"]) == ("2025-03-04", "-75.5", "")
