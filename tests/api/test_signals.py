"""/api/v1/signals/: auth, filters on label/regime/strategy/risk verdict, dates, ordering, CSV."""

from __future__ import annotations

import datetime as dt
import json

from tests.api.factories import T0, SignalFactory
from tests.api.helpers import csv_header, csv_rows, refused, token_client

URL = "/api/v1/signals/"


def test_anonymous_visitors_are_refused(anon_client, db):
    assert refused(anon_client.get(URL))


def test_viewer_and_token_list_signals_newest_first(viewer_client, viewer):
    SignalFactory(ts=T0)
    SignalFactory(ts=T0 + dt.timedelta(minutes=1))
    body = viewer_client.get(URL).json()
    assert [r["ts"] for r in body["results"]] == ["2025-03-04T15:01:00Z", "2025-03-04T15:00:00Z"]
    assert body["results"][0]["features"] == {"atr": 2.5}
    assert token_client(viewer).get(URL).json()["count"] == 2


def test_label_regime_strategy_and_risk_filters(viewer_client):
    SignalFactory(label="BUY", regime="trend", strategy="confluence", risk_approved=True)
    SignalFactory(label="STRONG_SELL", regime="range", strategy="mean_reversion", risk_approved=False)
    SignalFactory(label="NEUTRAL", regime="range", strategy="confluence", risk_approved=None)
    def count(**params):
        return viewer_client.get(URL, params).json()["count"]
    assert count(label="strong_sell") == 1
    assert count(regime="range") == 2
    assert count(strategy="confluence", regime="range") == 1
    assert count(risk_approved="true") == 1 and count(risk_approved="false") == 1


def test_since_until_on_the_bar_time(viewer_client):
    for minutes in (0, 60, 24 * 60):
        SignalFactory(ts=T0 + dt.timedelta(minutes=minutes))
    assert viewer_client.get(URL, {"since": "2025-03-04T15:30:00Z", "until": "2025-03-04"}).json()["count"] == 1
    assert viewer_client.get(URL, {"since": "2025-03-05"}).json()["count"] == 1


def test_ordering_by_time_ascending(viewer_client):
    for minutes in (5, 0, 10):
        SignalFactory(ts=T0 + dt.timedelta(minutes=minutes))
    rows = viewer_client.get(URL, {"ordering": "ts"}).json()["results"]
    assert [r["ts"][11:16] for r in rows] == ["15:00", "15:05", "15:10"]


def test_csv_writes_json_columns_as_json(viewer_client):
    SignalFactory(ts=T0, reasons=["vwap", "flow"], risk_approved=False, ml_confidence=None)
    assert csv_header(viewer_client.get(URL, {"format": "csv"}))[:4] == ["id", "ts", "symbol", "label"]
    [row] = csv_rows(viewer_client.get(URL, {"format": "csv"}))
    assert row["ts"] == "2025-03-04T15:00:00Z" and row["risk_approved"] == "false" and row["ml_confidence"] == ""
    assert json.loads(row["reasons"]) == ["vwap", "flow"] and json.loads(row["features"]) == {"atr": 2.5}
