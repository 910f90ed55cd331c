"""One Redis client per process for the state cache, heartbeats and command streams."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2,
                                decode_responses=True)


def redis_client() -> redis.Redis | None:
    """The shared client, or None where Redis is switched off (unit tests)."""
    if not getattr(settings, "MIA_REDIS_ENABLED", True):
        return None
    return _client()
