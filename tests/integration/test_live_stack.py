"""Gateway -> Bar rows -> real Celery worker (trading queue) -> Redis channel layer -> websocket."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from celery.contrib.testing.worker import start_worker
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from mia_site.asgi import application
from mia_site.celery import app
from mia_site.redis import redis_client
from tests.trading.test_consumers import _session_cookie
from trading.adapters.sim.feed import SimulatedFeed
from trading.engine.calendar import to_ns
from trading.live.gateway import HEARTBEAT_KEY, Gateway
from trading.models import Bar
from trading.tasks import on_bar

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_simulated_minutes_reach_an_authenticated_websocket_through_the_real_worker(real_redis, viewer):
    # The worker starts outside any event loop: Celery's Django fixup touches the database when it
    # starts, which Django forbids from a thread that runs an event loop.
    cookie = async_to_sync(_session_cookie)(viewer)
    start = to_ns(datetime(2025, 3, 4, 15, 0, tzinfo=UTC))
    gateway = Gateway(feed=SimulatedFeed(start_ns=start, seed=5), symbol="ES", speed=600.0,  # ~0.5 s for 5 min
                      enqueue=lambda bar: on_bar.delay(bar.pk))
    with start_worker(app, queues=["trading"], pool="solo", perform_ping_check=False, shutdown_timeout=30):
        stats, bars_seen, kinds = async_to_sync(_watch)(cookie, gateway)

    stored = list(Bar.objects.order_by("ts"))
    assert stats.bars >= 4 and len(stored) == stats.bars
    assert [b["ts"] for b in bars_seen] == [b.ts.isoformat() for b in stored]  # in order, each once
    assert {"tick", "bar", "signal", "state", "health"} <= kinds
    beat = json.loads(redis_client().get(HEARTBEAT_KEY))
    assert beat["feed"] == "sim" and beat["simulated"] is True and beat["bars"] == stats.bars


async def _watch(cookie: str, gateway: Gateway):
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"),
               (b"cookie", f"sessionid={cookie}".encode())]
    comm = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    stats = await database_sync_to_async(gateway.run)(max_sim_seconds=5 * 60)
    bars_seen: list[dict] = []
    kinds: set[str] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while len(bars_seen) < stats.bars and loop.time() < deadline:
        if await comm.receive_nothing(timeout=0.5):
            continue
        message = await comm.receive_json_from()
        kinds.add(message["type"])
        if message["type"] == "bar":
            bars_seen.append(message["data"])
    await comm.disconnect()
    return stats, bars_seen, kinds
