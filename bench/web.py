"""Web benchmarks: dashboard first load with a full database, and websocket fan-out latency.

Each runs in a scratch `MIA_VAR_DIR` (its own SQLite file and Redis), never in the user's `var/`.
`python -m bench.web dashboard|websocket` prints one benchmark result as JSON; `manage.py
bench` starts it in a subprocess so the scratch settings are in force from the first import. That is
why the Django and project imports sit inside the functions: they must run after `_setup_django()`.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mia_site.redis_server import free_port, server_binary

REPO = Path(__file__).resolve().parent.parent
N_TRADES, N_SIGNALS = 10_000, 100_000
WS_CLIENTS, WS_SECONDS, WS_RATE_HZ = 50, 60, 2.0


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mia_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _user(name: str, role: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(name, password=None)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def _seed_history() -> None:
    from trading.models import Bar, Signal, Trade

    start = datetime(2024, 1, 2, tzinfo=UTC)
    bars = [Bar(symbol="ES", ts=start + timedelta(minutes=i), open=4800, high=4801, low=4799, close=4800.25,
                volume=100, source="bench") for i in range(N_SIGNALS)]
    Bar.objects.bulk_create(bars, batch_size=5000)
    ids = list(Bar.objects.order_by("ts").values_list("id", "ts"))
    feats = {"vwap_trend": 0.5, "volume_imbalance": 0.5, "confluence": 0.5}
    Signal.objects.bulk_create([Signal(bar_id=i, symbol="ES", ts=ts, features=feats, confluence=0.5, label="NEUTRAL",
                                       regime="range", strategy="stand_aside", reasons=["bench"]) for i, ts in ids],
                               batch_size=5000)
    Trade.objects.bulk_create([Trade(symbol="ES", side="LONG", qty=1, entry_time=start + timedelta(minutes=i * 10),
                                     exit_time=start + timedelta(minutes=i * 10 + 5), entry_price=4800, exit_price=4801,
                                     pnl_usd=45.0, commission_usd=5.0, exit_reason="target")
                               for i in range(N_TRADES)], batch_size=5000)


def dashboard() -> dict:
    """Server time of GET / (the whole Django request, no network) with 10k trades and 100k signals."""
    _setup_django()
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)  # as `make run` does before serving
    _seed_history()
    from django.test import Client

    from trading import services

    services.ensure_trading_state()
    client = Client()
    client.force_login(_user("bench", "operator"))
    cold_started = time.perf_counter()
    client.get("/login/", HTTP_HOST="127.0.0.1")  # a running server has loaded its code; this page reads no data
    process_warmup_ms = (time.perf_counter() - cold_started) * 1000
    timings = []
    for _ in range(11):
        started = time.perf_counter()
        response = client.get("/", HTTP_HOST="127.0.0.1")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return {"name": "dashboard_first_load_ms", "value": round(timings[0], 1), "unit": "ms", "target": 1000,
            "better": "lower",
            "detail": f"GET / server time on a started server: first load {timings[0]:.0f} ms, median of the next 10 "
                      f"{statistics.median(timings[1:]):.0f} ms, with {N_TRADES} trades and {N_SIGNALS} signals "
                      f"stored (SQLite); the process's very first request (code loading, via /login/) took "
                      f"{process_warmup_ms:.0f} ms; Redis off, so no network waits are included"}


def websocket() -> dict:
    """50 clients on loopback get P&L pushes through the real Redis channel layer and daphne for 60 s."""
    var = Path(os.environ["MIA_VAR_DIR"])
    redis_port, web_port = free_port(), free_port()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["MIA_PORT"] = str(web_port)  # the websocket origin allowed is http://127.0.0.1:<this port>
    redis_proc = subprocess.Popen([str(server_binary()), "--port", str(redis_port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", str(var)], stdout=subprocess.DEVNULL)
    _setup_django()
    from django.contrib.sessions.backends.db import SessionStore

    user = _user("bench", "viewer")
    session = SessionStore()
    session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": user.get_session_auth_hash()})
    session.save()
    web = subprocess.Popen([str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(web_port),
                            "mia_site.asgi:application"], cwd=REPO, env=os.environ.copy(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return asyncio.run(_fan_out(web_port, session.session_key))
    finally:
        web.terminate()
        redis_proc.terminate()
        web.wait(timeout=10)
        redis_proc.wait(timeout=10)


async def _fan_out(port: int, session_key: str) -> dict:
    import websockets
    from channels.layers import get_channel_layer

    from trading.push import DASHBOARD_GROUP

    url = f"ws://127.0.0.1:{port}/ws/dashboard/"
    headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={session_key}"}
    for _ in range(100):  # wait for daphne
        try:
            probe = await websockets.connect(url, additional_headers=headers)
            await probe.close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    latencies: list[float] = []
    counts = [0] * WS_CLIENTS
    stop = asyncio.Event()

    async def client(i: int) -> None:
        async with websockets.connect(url, additional_headers=headers) as ws:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                message = json.loads(raw)
                if message["type"] == "pnl" and "bench_sent" in message["data"]:
                    latencies.append((time.time() - message["data"]["bench_sent"]) * 1000)
                    counts[i] += 1

    tasks = [asyncio.create_task(client(i)) for i in range(WS_CLIENTS)]
    await asyncio.sleep(2)  # all connected and joined
    layer = get_channel_layer()
    sent = 0
    deadline = time.monotonic() + WS_SECONDS
    while time.monotonic() < deadline:
        await layer.group_send(DASHBOARD_GROUP, {"type": "push.pnl", "message": {
            "type": "pnl", "data": {"pnl_today_usd": sent, "bench_sent": time.time()}}})
        sent += 1
        await asyncio.sleep(1 / WS_RATE_HZ)
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.gather(*tasks)
    expected = sent * WS_CLIENTS
    received = sum(counts)
    p99 = sorted(latencies)[int(0.99 * (len(latencies) - 1))] if latencies else float("inf")
    return {"name": "ws_p99_latency_ms", "value": round(p99, 1), "unit": "ms", "target": 250, "better": "lower",
            "detail": f"{WS_CLIENTS} clients x {WS_SECONDS} s, {WS_RATE_HZ:g} P&L pushes/s through Redis + daphne on "
                      f"loopback; {received}/{expected} delivered ({expected - received} dropped); "
                      f"median {statistics.median(latencies):.1f} ms" if latencies else "nothing received"}


def run_isolated(kind: str) -> dict:
    """Run one benchmark in a child process with a scratch var dir."""
    with tempfile.TemporaryDirectory(prefix="mia-bench-") as scratch:
        env = {**os.environ, "MIA_VAR_DIR": scratch, "DJANGO_SETTINGS_MODULE": "mia_site.settings"}
        env.pop("DATABASE_URL", None)
        if kind == "dashboard":
            env["MIA_REDIS_ENABLED"] = "0"
        result = subprocess.run([sys.executable, "-m", "bench.web", kind], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"{kind} benchmark failed: {result.stderr.strip().splitlines()[-1:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps({"dashboard": dashboard, "websocket": websocket}[sys.argv[1]]()))
