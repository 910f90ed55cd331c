"""The trades page: filters, sorting, totals, pagination, htmx swaps, export links and access."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from trading.models import Trade

T0 = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


def make_trade(pnl: float, *, side: str = "LONG", reason: str = "target", day: int = 0, minute: int = 0) -> Trade:
    exit_time = T0 + timedelta(days=day, minutes=minute)
    return Trade.objects.create(symbol="ES", side=side, qty=1, entry_time=exit_time - timedelta(minutes=5),
                                exit_time=exit_time, entry_price=5000.0, exit_price=5000.0 + pnl / 50,
                                pnl_usd=pnl, commission_usd=5.0, exit_reason=reason)


@pytest.fixture
def trades(db) -> list[Trade]:
    return [make_trade(100.0, side="LONG", reason="target", day=0),
            make_trade(-50.0, side="SHORT", reason="stop", day=1),
            make_trade(200.0, side="SHORT", reason="target", day=2),
            make_trade(-25.0, side="LONG", reason="time", day=3)]


def row_ids(html: str) -> list[int]:
    body = html.split('id="trades-table"', 1)[1]
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', body)]


def total(html: str, name: str) -> str:
    return re.search(rf'id="tot-{name}"[^>]*>([^<]*)<', html).group(1).strip()


@pytest.mark.parametrize("url", ["/trades/", "/signals/", "/signals/1/", "/backtests/", "/backtests/1/",
                                 "/backtests/1/report/"])
def test_anonymous_visitors_are_sent_to_login(anon_client, db, url):
    response = anon_client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_viewer_sees_every_trade_with_totals(viewer_client, trades):
    response = viewer_client.get("/trades/")
    assert response.status_code == 200
    html = response.content.decode()
    assert sorted(row_ids(html)) == sorted(t.pk for t in trades)
    assert total(html, "count") == "4"
    assert total(html, "net") == "225.00"
    assert total(html, "winrate") == "50 %"
    assert total(html, "pf") == str(round(300 / 75, 3))


def test_filters_narrow_the_table_and_the_totals(viewer_client, trades):
    html = viewer_client.get("/trades/?side=short").content.decode()
    assert row_ids(html) == [trades[2].pk, trades[1].pk]
    assert total(html, "count") == "2" and total(html, "net") == "150.00"
    html = viewer_client.get("/trades/?exit_reason=target").content.decode()
    assert sorted(row_ids(html)) == [trades[0].pk, trades[2].pk] and total(html, "pf") == "—"
    html = viewer_client.get("/trades/?since=2024-03-05&until=2024-03-06").content.decode()
    assert row_ids(html) == [trades[2].pk, trades[1].pk]  # a bare `until` date includes the whole day
    html = viewer_client.get("/trades/?since=2024-03-05T15:00:00Z&until=2024-03-06T14:59:00Z").content.decode()
    assert row_ids(html) == [trades[1].pk]


def test_a_bad_filter_is_reported_not_a_server_error(viewer_client, trades):
    response = viewer_client.get("/trades/?since=yesterday&side=FLAT")
    html = response.content.decode()
    assert response.status_code == 200 and "is not a date" in html and "is not LONG or SHORT" in html
    assert total(html, "count") == "4"


def test_column_headers_sort_the_table(viewer_client, trades):
    by_pnl = row_ids(viewer_client.get("/trades/?sort=pnl").content.decode())
    assert by_pnl == [t.pk for t in sorted(trades, key=lambda t: t.pnl_usd)]
    html = viewer_client.get("/trades/?sort=-pnl").content.decode()
    assert row_ids(html) == [t.pk for t in sorted(trades, key=lambda t: -t.pnl_usd)]
    assert 'aria-sort="descending"' in html and "sort=pnl" in html  # a second click flips the direction
    default = row_ids(viewer_client.get("/trades/").content.decode())
    assert default == [t.pk for t in sorted(trades, key=lambda t: t.exit_time, reverse=True)]
    oldest_first = row_ids(viewer_client.get("/trades/?sort=exit_time").content.decode())
    assert oldest_first == list(reversed(default))
    by_side = row_ids(viewer_client.get("/trades/?sort=side").content.decode())
    assert [Trade.objects.get(pk=i).side for i in by_side] == ["LONG", "LONG", "SHORT", "SHORT"]


def test_unknown_sort_falls_back_to_newest_first(viewer_client, trades):
    assert row_ids(viewer_client.get("/trades/?sort=commission_usd").content.decode())[0] == trades[3].pk


def test_pages_of_fifty_with_totals_over_all_of_them(viewer_client, db):
    for i in range(60):
        make_trade(10.0, minute=i)
    first = viewer_client.get("/trades/?side=LONG").content.decode()
    second = viewer_client.get("/trades/?side=LONG&page=2").content.decode()
    assert len(row_ids(first)) == 50 and len(row_ids(second)) == 10
    assert total(second, "count") == "60" and "page 2 of 2" in second
    assert "side=LONG&amp;page=2" in first  # the pager keeps the filters


def test_htmx_filter_change_swaps_the_table_region(viewer_client, trades):
    page = viewer_client.get("/trades/").content.decode()
    assert 'hx-get="/trades/"' in page and 'hx-push-url="true"' in page and 'hx-select="#trades-table"' in page
    response = viewer_client.get("/trades/?side=LONG", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="trades-table"' in html
    assert sorted(row_ids(html)) == [trades[0].pk, trades[3].pk]


def test_export_links_carry_the_same_filters(viewer_client, trades):
    html = viewer_client.get("/trades/?since=2024-03-04&side=LONG&exit_reason=time&sort=pnl").content.decode()
    assert 'href="/api/v1/trades/?format=csv&amp;since=2024-03-04&amp;side=LONG&amp;exit_reason=time"' in html
    assert 'href="/api/v1/trades/?format=json&amp;since=2024-03-04&amp;side=LONG&amp;exit_reason=time"' in html


def test_trades_link_to_their_signal(viewer_client, db):
    from tests.pages.test_signal_detail import make_signal

    signal = make_signal()
    trade = make_trade(50.0)
    Trade.objects.filter(pk=trade.pk).update(signal=signal)
    assert f'href="/signals/{signal.pk}/"' in viewer_client.get("/trades/").content.decode()
