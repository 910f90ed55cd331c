"""The real processes, for breaking: the supervisor running the Procfile (web, both workers, beat, the
gateway on the simulated feed and the paper broker) in a scratch var/, against a real redis-server the
tests own, so they can stop, restart and flush it.

Each test reads and writes the stack's own database through ``manage.py`` (``Stack.shell``), exactly
as an operator's tools would, and leaves the stack healthy for the next one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests

from mia_site.redis_server import free_port, server_binary
from tests.shared_data import REPO, need

PY = str(REPO / ".venv" / "bin" / "python")
ADMIN = ("fault-admin", "fault-password-123")


MEASURED = REPO / "test-artifacts" / "faults-measurements.json"


@pytest.fixture(scope="package")
def measured() -> Iterator[dict]:
    """Figures the fault tests measure (seconds to recover, bars stored in an outage), kept in
    test-artifacts/faults-measurements.json for the record."""
    values: dict = {}
    yield values
    MEASURED.parent.mkdir(exist_ok=True)
    MEASURED.write_text(json.dumps(values, indent=1) + "\n")


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.5) -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - the check may fail while the fault lasts
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@dataclass
class RedisServer:
    port: int
    folder: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # AOF on, as the embedded one runs: a restart keeps the stream and the heartbeat.
        self.proc = subprocess.Popen([str(server_binary()), "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "everysec",
                                      "--save", ""], stdout=subprocess.DEVNULL)
        wait_for(lambda: redis.Redis.from_url(self.url).ping(), 20, "redis to answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


@dataclass
class Stack:
    url: str
    env: dict
    var: Path
    redis: RedisServer
    log_path: Path
    proc: subprocess.Popen | None = None
    token: str = field(default="")

    def start(self, timeout: float = 150) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's lifetime
        self.proc = subprocess.Popen([PY, "-m", "mia_site.supervisor", str(REPO / "Procfile")], cwd=REPO,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: self.health().get("status") == "ok", timeout, "the stack to be healthy", every=1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=90)

    def health(self) -> dict:
        return requests.get(self.url + "/healthz", timeout=5).json()

    def manage(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([PY, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        if check:
            assert result.returncode == 0, result.stderr[-3000:]
        return result

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code).stdout

    def query(self, expression: str, setup: str = "") -> object:
        """The JSON value of a Python expression evaluated in the stack's Django (its own database)."""
        out = self.shell(f"import json\n{setup}\nprint('<<' + json.dumps({expression}, default=str) + '>>')")
        return json.loads(out[out.index("<<") + 2:out.rindex(">>")])

    def pid(self, name: str) -> int:
        status = json.loads((self.var / "supervisor.json").read_text())
        return int(status["processes"][name]["pid"])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# Package scope: the stack stops when the fault tests are done (it must not load the rest of the suite).
@pytest.fixture(scope="package")
def fault_stack(tmp_path_factory) -> Iterator[Stack]:
    need(server_binary().exists(), "redis-server not found in the venv")
    var = tmp_path_factory.mktemp("fault-var")
    server = RedisServer(port=free_port(), folder=tmp_path_factory.mktemp("fault-redis"))
    server.start()
    port = free_port()
    env = {**os.environ, "MIA_VAR_DIR": str(var), "MIA_PORT": str(port), "REDIS_URL": server.url,
           "MIA_ADMIN_USER": ADMIN[0], "MIA_ADMIN_PASSWORD": ADMIN[1], "MIA_SIM_SPEED": "10", "MIA_DEBUG": "0",
           "MIA_LOG_LEVEL": "INFO"}
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL"):
        env.pop(key, None)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    stack = Stack(url=f"http://127.0.0.1:{port}", env=env, var=var, redis=server,
                  log_path=artifacts / "faults-stack.log")
    stack.log_path.write_text("")
    for step in (("migrate", "--noinput", "-v", "0"), ("mia_setup",), ("collectstatic", "--noinput", "-v", "0")):
        stack.manage(*step, timeout=300)
    stack.shell(QUIET_STRATEGY)
    stack.token = stack.query("Token.objects.get_or_create(user=get_user_model().objects.get(username='fault-admin'))"
                              "[0].key", setup="from rest_framework.authtoken.models import Token\n"
                                               "from django.contrib.auth import get_user_model")
    stack.start()
    yield stack
    stack.stop()
    server.stop()


# The strategy never signals (no label can be BUY or SELL), so the only position is the one a test opens.
QUIET_STRATEGY = """
from trading.models import StrategyConfig
row = StrategyConfig.load()
row.strong_sell, row.sell, row.buy, row.strong_buy = 0.0, 0.001, 0.999, 1.0
row.save()
"""

OPEN_LONG = """
from django.db import transaction
from trading.engine.calendar import from_ns
from trading.live import clock, order_stream
from trading.live.commands import Action
from trading.models import Order, OrderIntent
newest = clock.current().newest_ns()
with transaction.atomic():
    coid = "E-fault-%d" % newest
    intent = OrderIntent.objects.create(client_order_id=coid, bracket_id=coid, role="ENTRY", symbol="ES",
                                        side="BUY", qty=1, order_type="MKT", atr=2.0, decided_at=from_ns(newest),
                                        bracket={"stop_atr_mult": 2.0, "target_r": 2.0})
    Order.objects.create(intent=intent, client_order_id=coid)
    order_stream.queue(action=Action.SUBMIT, client_order_id=coid)
print("<<%s>>" % coid)
"""


def open_long(stack: Stack) -> str:
    """An entry sent the way the worker sends one (intent, order, outbox command); returns its id once
    the gateway has filled it and placed its bracket."""
    out = stack.shell(OPEN_LONG)
    coid = out[out.index("<<") + 2:out.rindex(">>")]
    wait_for(lambda: stack.query("Position.objects.get(symbol='ES').qty",
                                 setup="from trading.models import Position") == 1, 60, "the entry to fill")
    wait_for(lambda: stack.query("Order.objects.filter(intent__role='STOP', state='ACCEPTED').count()",
                                 setup="from trading.models import Order") == 1, 30, "its stop to work")
    return coid


def resume(stack: Stack) -> None:
    stack.manage("killswitch", "resume", "--reason", "next fault test", "--wait", "10")


@pytest.fixture
def flat_and_active(fault_stack) -> Stack:
    """Each test starts flat, trading ACTIVE, nothing pending."""
    stack = fault_stack
    if stack.query("getattr(Position.objects.filter(symbol='ES').first(), 'qty', 0)",
                   setup="from trading.models import Position"):
        stack.manage("killswitch", "flatten", "--reason", "reset between fault tests", "--wait", "20")
        wait_for(lambda: stack.query("Position.objects.get(symbol='ES').qty",
                                     setup="from trading.models import Position") == 0, 60, "flat")
    resume(stack)
    wait_for(lambda: stack.health().get("status") == "ok", 90, "a healthy stack")
    return stack
