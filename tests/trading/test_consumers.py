"""The dashboard websocket refuses strangers and relays typed messages to logged-in users."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore

from mia_site.asgi import application
from trading.push import push

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _session_cookie(user) -> str:
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    return session.session_key


def _communicator(origin: bytes = b"http://127.0.0.1:8000", cookie: str | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


async def test_anonymous_websocket_is_refused():
    connected, code = await _communicator().connect()
    assert not connected and code == 4401


async def test_cross_origin_websocket_is_refused(viewer):
    cookie = await _session_cookie(viewer)
    connected, _ = await _communicator(origin=b"http://evil.example.com", cookie=cookie).connect()
    assert not connected


async def test_logged_in_user_receives_pushed_messages(viewer):
    cookie = await _session_cookie(viewer)
    comm = _communicator(cookie=cookie)
    connected, _ = await comm.connect()
    assert connected
    await database_sync_to_async(push)("bar", {"symbol": "ES", "close": 4800.25})
    message = await comm.receive_json_from(timeout=2)
    assert message == {"type": "bar", "data": {"symbol": "ES", "close": 4800.25}}
    await comm.disconnect()


async def test_fast_ticks_are_coalesced_but_events_are_not(viewer):
    cookie = await _session_cookie(viewer)
    comm = _communicator(cookie=cookie)
    assert (await comm.connect())[0]
    for i in range(50):
        await database_sync_to_async(push)("tick", {"price": 4800 + i * 0.25})
    await database_sync_to_async(push)("signal", {"id": 1})
    received = []
    while not await comm.receive_nothing(timeout=0.6):
        received.append(await comm.receive_json_from())
    ticks = [m for m in received if m["type"] == "tick"]
    assert [m for m in received if m["type"] == "signal"] == [{"type": "signal", "data": {"id": 1}}]
    assert 1 <= len(ticks) <= 3  # 50 ticks in a burst become the first and the latest
    assert ticks[-1]["data"]["price"] == 4800 + 49 * 0.25
    await comm.disconnect()


@pytest.mark.integration
async def test_an_idle_dashboard_survives_the_redis_layers_blocking_reads(real_redis, viewer):
    """channels-redis blocks 5 s per read; redis-py 8's default 5 s socket timeout used to kill idle sockets."""
    cookie = await _session_cookie(viewer)
    comm = _communicator(cookie=cookie)
    assert (await comm.connect())[0]
    assert await comm.receive_nothing(timeout=7)  # longer than one blocking read, no message
    await database_sync_to_async(push)("state", {"state": "ACTIVE"})
    assert (await comm.receive_json_from(timeout=3))["type"] == "state"
    await comm.disconnect()
