"""``killswitch_cli_s``: how long the operator's emergency command takes, start to exit.

A fresh ``manage.py killswitch halt`` process each time (interpreter, Django set-up, the halt written
and audited, its order command published and the dashboard told), against a scratch ``MIA_VAR_DIR``
and a scratch Redis so the user's trading state is never touched; best of ``runs``, with a ``resume``
between runs so every ``halt`` really changes the state. No gateway runs, so ``--wait 0``: this is the time
until the halt is latched and its command queued, not the gateway's round trip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mia_site.redis_server import free_port, server_binary

REPO = Path(__file__).resolve().parent.parent


def _manage(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, check=True, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def bench_killswitch_cli(*, runs: int = 5) -> dict:
    with tempfile.TemporaryDirectory(prefix="mia-bench-cli-") as scratch:
        port = free_port()
        redis = subprocess.Popen([str(server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--dir", scratch,
                                  "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        env = {**os.environ, "MIA_VAR_DIR": scratch, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        env.pop("DATABASE_URL", None)
        try:
            _manage(env, "migrate", "--noinput", "-v", "0")
            _manage(env, "mia_setup")
            times = []
            for _ in range(runs):
                times.append(_manage(env, "killswitch", "halt", "--reason", "bench", "--wait", "0"))
                _manage(env, "killswitch", "resume", "--reason", "bench")
        finally:
            redis.terminate()
            redis.wait(timeout=10)
    best = min(times)
    return {"name": "killswitch_cli_s", "value": round(best, 3), "unit": "s", "target": 2.0, "better": "lower",
            "detail": f"fresh `manage.py killswitch halt --wait 0` processes, best of {runs}; all: "
                      + ", ".join(f"{t:.2f}" for t in times)}
