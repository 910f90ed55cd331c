"""The shared export machinery: lazy streaming under WSGI and ASGI, cells, ISO bounds."""

from __future__ import annotations

import datetime as dt

from asgiref.sync import async_to_sync

from tests.api.factories import T0, TradeFactory
from tests.api.helpers import csv_text
from trading.web import csv_export
from trading.web.csv_export import CsvStreamingResponse, cell
from trading.web.filters import parse_instant

URL = "/api/v1/trades/"


async def _drain(response: CsvStreamingResponse) -> list[bytes]:
    return [chunk async for chunk in response]


def test_the_query_runs_while_streaming_not_in_the_view(viewer_client):
    TradeFactory(entry_time=T0)
    response = viewer_client.get(URL, {"format": "csv"})
    TradeFactory(entry_time=T0 + dt.timedelta(days=1))  # added after the view returned
    assert isinstance(response, CsvStreamingResponse) and response.streaming
    assert len(csv_text(response).splitlines()) == 3


def test_asgi_servers_get_batches_not_one_list(viewer_client, monkeypatch):
    # Django's own StreamingHttpResponse would list() a sync iterator under ASGI: the whole export in memory.
    monkeypatch.setattr(csv_export, "ASYNC_BATCH_ROWS", 100)
    TradeFactory.create_batch(250)
    chunks = async_to_sync(_drain)(viewer_client.get(URL, {"format": "csv"}))
    assert [c.count(b"\n") for c in chunks] == [100, 100, 51]
    assert b"".join(chunks).decode() == csv_text(viewer_client.get(URL, {"format": "csv", "ordering": "-exit_time"}))


def test_an_unknown_format_is_refused(viewer_client, db):
    assert viewer_client.get(URL, {"format": "xml"}).status_code == 404


def test_cells_are_plain_text():
    assert cell(dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-6)))) == "2025-03-04T15:30:00Z"
    assert cell(dt.datetime(2025, 3, 4, 15, 30, 0, 250000, tzinfo=dt.UTC)) == "2025-03-04T15:30:00.250000Z"
    assert cell(dt.date(2025, 3, 4)) == "2025-03-04"
    assert (cell(None), cell(True), cell(False), cell(1.5)) == ("", "true", "false", 1.5)
    assert cell({"a": [1, 2]}) == '{"a":[1,2]}'


def test_bounds_are_iso_dates_or_times_in_utc_by_default():
    assert parse_instant("2025-03-04").at == dt.datetime(2025, 3, 4, tzinfo=dt.UTC)
    assert parse_instant("2025-03-04").date_only
    assert parse_instant("2025-03-04T15:00").at == dt.datetime(2025, 3, 4, 15, tzinfo=dt.UTC)
    assert parse_instant("2025-03-04T09:00:00-06:00").at == dt.datetime(2025, 3, 4, 15, tzinfo=dt.UTC)
    assert parse_instant("2025-03-04T15:00:00Z").at == dt.datetime(2025, 3, 4, 15, tzinfo=dt.UTC)
    assert parse_instant("yesterday") is None and parse_instant("2025-02-30") is None
