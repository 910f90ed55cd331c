"""System health for `/healthz` and the dashboard strip: db, redis, each queue's consumers, gateway, feed age,
the age of the last trading cycle.

No secrets: names, flags and ages only.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.db import connection

from mia_site.celery import app
from mia_site.redis import redis_client
from mia_site.supervisor import read_status
from trading.models import Signal

WORKERS_CACHE_KEY = "mia:health:workers"
HEARTBEAT_KEY = "mia:gateway"  # written by the gateway every second (trading.live.gateway)
FEED_STALE_S = 30.0
GATEWAY_ALIVE_S = 15.0


def _db() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": type(exc).__name__}


QUEUES = ("trading", "options", "ml", "default")


def _workers(client: Any, *, ping: bool = True) -> dict[str, Any]:
    """Which worker consumes which queue (one broadcast, cached 10 s so health stays cheap).

    A queue nobody consumes is red: with no ``trading`` consumer no bar gets its cycle, whatever else
    is up. Page loads (``ping=False``) use the last cached answer.
    """
    cached = client.get(WORKERS_CACHE_KEY)
    if cached:
        return json.loads(cached)
    if not ping:
        return {"ok": False, "names": [], "unknown": True, "queues": {}}
    replies = app.control.inspect(timeout=0.5).active_queues() or {}
    consumers = {queue: sorted(name for name, queues in replies.items() if any(q.get("name") == queue
                                                                              for q in queues))
                 for queue in QUEUES}
    result = {"ok": all(consumers.values()), "names": sorted(replies), "missing": [q for q, c in consumers.items()
                                                                                   if not c],
              "queues": consumers}
    client.set(WORKERS_CACHE_KEY, json.dumps(result), ex=10)
    return result


def _processes() -> dict[str, Any]:
    """The supervisor's view (``make run``): a process waiting to be restarted is red at once, before
    the worker and gateway checks notice it. Without a supervisor (tests, another process manager)
    this part says nothing against the health."""
    status = read_status()
    states = {name: info.get("state") for name, info in status.get("processes", {}).items()}
    restarting = sorted(name for name, state in states.items() if state != "running")
    return {"ok": not restarting, "supervised": bool(states), "restarting": restarting,
            "restarts": {name: info.get("restarts", 0) for name, info in status.get("processes", {}).items()}}


def _last_cycle_age() -> float | None:
    """Seconds since the newest trading cycle stored its Signal (wall time)."""
    # The newest row is the highest id (rows are only ever appended): the primary key's index, not a scan
    # of every signal's created_at.
    newest = Signal.objects.order_by("-id").values_list("created_at", flat=True).first()
    return round(time.time() - newest.timestamp(), 1) if newest else None


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
                alive = time.time() - data["at"] < GATEWAY_ALIVE_S
                venue = data.get("broker_status") or {}
                # A venue's own word (IB 1100, a dropped socket) makes the broker red at once.
                broker_ok = alive and venue.get("connected", True)
                gateway = {"ok": alive and broker_ok, "feed": data["feed"], "broker": data["broker"],
                           "broker_ok": broker_ok, "age_s": round(time.time() - data["at"], 1),
                           "simulated": data["simulated"], "quarantined": data["quarantined"],
                           "last_price": data["last_price"]}
                if venue:
                    gateway["venue"] = {k: venue.get(k) for k in ("connected", "mode", "account", "api", "error")}
                    gateway["contract"] = (data.get("venue") or {}).get("contract")
                if data.get("last_tick_wall") and data.get("feed_ok", True):
                    feed_age = round(time.time() - data["last_tick_wall"], 1)
        except Exception as exc:  # noqa: BLE001
            result["redis"] = {"ok": False, "error": type(exc).__name__}
            result.setdefault("workers", {"ok": False})
    result["gateway"] = gateway
    result["feed_age_s"] = feed_age
    result["processes"] = _processes()
    try:
        result["last_cycle_age_s"] = _last_cycle_age()
    except Exception:  # noqa: BLE001 - the db part above already says what is wrong
        result["last_cycle_age_s"] = None
    feed_ok = feed_age is not None and feed_age < FEED_STALE_S
    parts_ok = all(result[k]["ok"] for k in ("db", "redis", "workers", "gateway", "processes"))
    result["status"] = "ok" if parts_ok and feed_ok else ("down" if not result["db"]["ok"] else "degraded")
    return result
