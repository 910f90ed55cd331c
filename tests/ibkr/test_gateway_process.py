"""`manage.py run_gateway --feed ibkr --broker ibkr` as a process against the loopback TWS, with each client.

The process stores IB's history and live bars, trades a bracket sent through the outbox, and the
kill switch cancels at IB and closes the position with one order. A restart of the process finds
the position and its stop at IB and carries on; the same restart without the stop halts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.ibkr.conftest import FRONT, LIBRARIES
from tests.ibkr.loopback import ACCOUNT

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable

OPEN_LONG = """
from datetime import UTC, datetime
from django.db import transaction
from trading.live import order_stream
from trading.live.commands import Action
from trading.models import Order, OrderIntent
with transaction.atomic():
    intent = OrderIntent.objects.create(client_order_id="E1", bracket_id="E1", role="ENTRY", symbol="ES",
                                        side="BUY", qty=1, order_type="MKT", atr=2.0, decided_at=datetime.now(UTC),
                                        bracket={"stop_atr_mult": 2.0, "target_r": 2.0})
    Order.objects.create(intent=intent, client_order_id="E1")
    order_stream.queue(action=Action.SUBMIT, client_order_id="E1")
"""


class Process:
    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None

    def manage(self, *args: str, timeout: float = 120) -> str:
        out = subprocess.run([PY, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def query(self, expression: str) -> str:
        out = self.manage("shell", "-v", "0", "-c", f"from trading.models import *\nprint('<<%r>>' % ({expression},))")
        return out[out.index("<<") + 2:out.rindex(">>")]

    def start(self, *args: str) -> None:
        self.proc = subprocess.Popen([PY, "manage.py", "run_gateway", "--feed", "ibkr", "--broker", "ibkr", *args],
                                     cwd=REPO, env=self.env, stdout=self.log.open("a"), stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(params=LIBRARIES)
def gateway(request, tws, redis_url, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    env = {**os.environ, "MIA_VAR_DIR": str(var), "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/6",
           "MIA_IB_ACCOUNT": ACCOUNT, "MIA_IB_PORT": str(tws.port), "MIA_IB_CLIENT_ID": "9",
           "MIA_IB_API": request.param, "MIA_DEBUG": "0", "MIA_LOG_LEVEL": "INFO"}
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL"):
        env.pop(key, None)
    process = Process(env, tmp_path / "gateway.log")
    process.manage("migrate", "--noinput", "-v", "0", timeout=300)
    process.manage("mia_setup")
    process.library = request.param
    yield process
    process.stop()


def _stream(tws, stop: threading.Event) -> None:
    price = 5000.0
    while not stop.is_set():
        tws.quote(FRONT, price - 0.25, price)
        tws.trade(FRONT, price, 1)
        time.sleep(0.2)


def test_run_gateway_against_the_loopback_tws(gateway, tws):
    now = int(time.time()) // 60 * 60
    tws.history[FRONT] = [(now - 60 * (k + 1), 5000.0, 5001.0, 4999.0, 5000.5, 100.0) for k in range(30)][::-1]
    tws.auto_fill = 5000.0
    stop = threading.Event()
    streamer = threading.Thread(target=_stream, args=(tws, stop), daemon=True)
    try:
        gateway.start()
        wait_for(lambda: tws.connected_clients == [9], 60, "the gateway to connect")
        streamer.start()
        wait_for(lambda: gateway.query("Bar.objects.filter(source='ibkr-history').count()") == "30", 60, "the warm-up")

        gateway.manage("shell", "-c", OPEN_LONG)
        wait_for(lambda: gateway.query("Position.objects.get(symbol='ES').qty") == "1", 60, "the entry fill")
        stop_order = wait_for(lambda: tws.order("E1-S"), 10, "the stop at IB")
        assert stop_order.parent_id == tws.order("E1").order_id and stop_order.status == "Submitted"

        tws.auto_fill = 4999.75
        out = gateway.manage("killswitch", "flatten", "--reason", "loopback test", "--wait", "30")
        assert "carried out" in out or "HALTED" in out
        wait_for(lambda: gateway.query("Position.objects.get(symbol='ES').qty") == "0", 60, "flat")
        closing = [o for o in tws.orders.values() if o.order_ref.startswith("F")]
        assert len(closing) == 1 and closing[0].status == "Filled"
        assert {o.order_ref: o.status for o in tws.orders.values()}["E1-T"] == "Cancelled"
        assert gateway.query("Trade.objects.get().exit_reason") == "'flatten'"
        # A live minute closes into a bar within a minute and a bit; the warm-up never got trading cycles.
        wait_for(lambda: int(gateway.query("Bar.objects.filter(source='ibkr').count()")) > 0, 75, "a live bar")
        assert gateway.query("Signal.objects.filter(bar__source='ibkr-history').count()") == "0"
    finally:
        stop.set()
        gateway.stop()
    log = gateway.log.read_text()
    assert gateway.library in log and "DU***567" in log and ACCOUNT not in log, "the account is never logged whole"


def test_restart_without_the_stop_at_ib_halts(gateway, tws):
    tws.auto_fill = 5000.0
    gateway.start()
    wait_for(lambda: tws.connected_clients == [9], 60, "the gateway to connect")
    gateway.manage("shell", "-c", OPEN_LONG)
    wait_for(lambda: gateway.query("Position.objects.get(symbol='ES').qty") == "1", 60, "the entry fill")
    wait_for(lambda: tws.order("E1-S") is not None, 10, "the stop at IB")
    gateway.stop()
    tws.order("E1-S").status = "Cancelled"  # cancelled in TWS while MIA was down
    tws.order("E1-T").status = "Cancelled"
    gateway.start()
    reason = wait_for(lambda: "no working stop" in gateway.query("TradingState.objects.get().reason")
                      and gateway.query("TradingState.objects.get().reason"), 60, "the halt")
    assert "HALTED" in gateway.query("TradingState.objects.get().state")
    assert "position 1" in reason
