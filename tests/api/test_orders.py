"""/api/v1/orders/: auth, state and role filters, dates, ordering, CSV with the intent's columns."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.api.factories import OrderFactory
from tests.api.helpers import csv_rows, refused, token_client
from trading.models import Order, OrderIntent

URL = "/api/v1/orders/"


def _order(state: str = Order.State.FILLED, role: str = OrderIntent.Role.ENTRY, **intent) -> Order:
    return OrderFactory(state=state, intent__role=role, **{f"intent__{k}": v for k, v in intent.items()})


def test_anonymous_visitors_are_refused(anon_client, db):
    assert refused(anon_client.get(URL))


def test_viewer_and_token_see_orders_with_their_intent(viewer_client, viewer):
    _order(role=OrderIntent.Role.STOP, side="SELL", order_type=OrderIntent.Type.STOP, stop_price=5790.0)
    [row] = viewer_client.get(URL).json()["results"]
    assert (row["role"], row["side"], row["order_type"], row["stop_price"]) == ("STOP", "SELL", "STP", 5790.0)
    assert token_client(viewer).get(URL).status_code == 200


def test_state_and_role_filters(viewer_client):
    _order(Order.State.FILLED, OrderIntent.Role.ENTRY)
    _order(Order.State.ACCEPTED, OrderIntent.Role.STOP)
    _order(Order.State.CANCELLED, OrderIntent.Role.TARGET)
    assert viewer_client.get(URL, {"state": "ACCEPTED"}).json()["count"] == 1
    assert viewer_client.get(URL, {"role": "TARGET"}).json()["results"][0]["state"] == "CANCELLED"
    assert viewer_client.get(URL, {"state": "FILLED", "role": "STOP"}).json()["count"] == 0
    assert viewer_client.get(URL, {"state": "LOST"}).status_code == 400


def test_since_until_on_creation_and_ordering(viewer_client):
    old, new = _order(), _order()
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    today = timezone.now().date().isoformat()
    assert [r["id"] for r in viewer_client.get(URL, {"since": today}).json()["results"]] == [new.pk]
    assert [r["id"] for r in viewer_client.get(URL, {"ordering": "created_at"}).json()["results"]] == [old.pk, new.pk]


def test_csv_has_the_intent_columns(viewer_client):
    _order(role=OrderIntent.Role.TARGET, side="SELL", order_type=OrderIntent.Type.LIMIT, limit_price=5810.0)
    [row] = csv_rows(viewer_client.get(URL, {"format": "csv"}))
    assert (row["role"], row["side"], row["limit_price"], row["stop_price"]) == ("TARGET", "SELL", "5810.0", "")
    assert row["created_at"].endswith("Z")
