"""/api/v1/models/: ML model versions."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

import mlfilter.models as ml_models
from tests.api.helpers import csv_header, csv_rows, refused, token_client

URL = "/api/v1/models/"


def _version(name: str, *, days_ago: int = 0, **fields):
    row = ml_models.ModelVersion.objects.create(version=name, trained_on="simulated", format_version=1,
                                                artifact_dir=f"var/models/{name}", **fields)
    if days_ago:
        ml_models.ModelVersion.objects.filter(pk=row.pk).update(
            created_at=timezone.now() - dt.timedelta(days=days_ago))
    return row


def test_anonymous_visitors_are_refused(anon_client, db):
    assert refused(anon_client.get(URL))


def test_viewer_and_token_list_versions_newest_first(viewer_client, viewer):
    _version("m-old", days_ago=2)
    _version("m-new", metrics={"overall": {"auc": 0.61}})
    rows = viewer_client.get(URL).json()["results"]
    assert [r["version"] for r in rows] == ["m-new", "m-old"] and rows[0]["metrics"]["overall"]["auc"] == 0.61
    assert token_client(viewer).get(URL).json()["count"] == 2


def test_date_deployed_and_ordering_filters(viewer_client):
    _version("m-old", days_ago=3)
    _version("m-new", deployed=True)
    today = timezone.now().date().isoformat()
    assert [r["version"] for r in viewer_client.get(URL, {"since": today}).json()["results"]] == ["m-new"]
    assert [r["version"] for r in viewer_client.get(URL, {"deployed": "false"}).json()["results"]] == ["m-old"]
    assert [r["version"] for r in viewer_client.get(URL, {"ordering": "created_at"}).json()["results"]] == [
        "m-old", "m-new"]


def test_csv_has_every_column(viewer_client):
    _version("m-1", metrics={"overall": {"auc": 0.6}})
    header = csv_header(viewer_client.get(URL, {"format": "csv"}))
    assert header[:3] == ["id", "version", "created_at"] and "metrics" in header
    [row] = csv_rows(viewer_client.get(URL, {"format": "csv"}))
    assert row["version"] == "m-1" and row["metrics"] == '{"overall":{"auc":0.6}}' and row["deployed"] == "false"
