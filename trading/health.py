"""System health for `/healthz` and the dashboard strip: db, redis, workers, gateway, feed age.

No secrets: names, flags and ages only.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.db import connection

from mia_site.celery import app
from mia_site.redis import redis_client

WORKERS_CACHE_KEY = "mia:health:workers"
HEARTBEAT_KEY = "mia:gateway"  # written by the gateway every second (trading.live.gateway)
FEED_STALE_S = 30.0


def _db() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": type(exc).__name__}


def _workers(client: Any, *, ping: bool = True) -> dict[str, Any]:
    """Ask the workers to answer a ping; the answer is cached 10 s so health stays cheap."""
    cached = client.get(WORKERS_CACHE_KEY)
    if cached:
        return json.loads(cached)
    if not ping:
        return {"ok": False, "names": [], "unknown": True}
    replies = app.control.ping(timeout=0.5) or []
    names = sorted(name for reply in replies for name in reply)
    result = {"ok": bool(names), "names": names}
    client.set(WORKERS_CACHE_KEY, json.dumps(result), ex=10)
    return result


def gateway_beat() -> dict[str, Any]:
    """The gateway's last heartbeat; {} when there is none or Redis cannot be read (reads as stale)."""
    client = redis_client()
    try:
        raw = client.get(HEARTBEAT_KEY) if client is not None else None
    except Exception:  # noqa: BLE001 - callers treat a missing heartbeat as stale data
        return {}
    return json.loads(raw) if raw else {}


def report(*, ping_workers: bool = True) -> dict[str, Any]:
    """Health now. Page loads pass ping_workers=False and use the last cached worker answer."""
    result: dict[str, Any] = {"db": _db()}
    client = redis_client()
    gateway: dict[str, Any] = {"ok": False}
    feed_age = None
    if client is None:
        result["redis"] = {"ok": False, "error": "disabled"}
        result["workers"] = {"ok": False}
    else:
        try:
            client.ping()
            result["redis"] = {"ok": True}
            result["workers"] = _workers(client, ping=ping_workers)
            beat = client.get(HEARTBEAT_KEY)
            if beat:
                data = json.loads(beat)
                gateway = {"ok": time.time() - data["at"] < 15, "feed": data["feed"], "broker": data["broker"],
                           "broker_ok": time.time() - data["at"] < 15,
                           "simulated": data["simulated"], "quarantined": data["quarantined"],
                           "last_price": data["last_price"]}
                if data.get("last_tick_wall"):
                    feed_age = round(time.time() - data["last_tick_wall"], 1)
        except Exception as exc:  # noqa: BLE001
            result["redis"] = {"ok": False, "error": type(exc).__name__}
            result.setdefault("workers", {"ok": False})
    result["gateway"] = gateway
    result["feed_age_s"] = feed_age
    feed_ok = feed_age is not None and feed_age < FEED_STALE_S
    parts_ok = all(result[k]["ok"] for k in ("db", "redis", "workers", "gateway"))
    result["status"] = "ok" if parts_ok and feed_ok else ("down" if not result["db"]["ok"] else "degraded")
    return result
