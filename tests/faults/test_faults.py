"""Faults injected into the real processes (issue: "Keep the safety promises when a part fails").

Each test breaks one part of the running stack (Redis, a worker, the gateway, the order stream, the
data at the door, the access rules) and checks in the stack's database that nothing was lost and
nothing duplicated. They share one stack and run in this order; each leaves it healthy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import time

import pytest
import requests
import websockets

from tests.faults.conftest import PY, REPO, Stack, open_long, wait_for
from tests.shared_data import shared_data

pytestmark = pytest.mark.faults

POSITION = ("getattr(Position.objects.filter(symbol='ES').first(), 'qty', 0)", "from trading.models import Position")
STATE = ("[TradingState.objects.get().state, TradingState.objects.get().reason]",
         "from trading.models import TradingState")


def _state(stack: Stack) -> list:
    return stack.query(*STATE)


def _newest_bar(stack: Stack) -> str:
    return stack.query("Bar.objects.order_by('-ts').values_list('ts', flat=True).first()",
                       setup="from trading.models import Bar")


def test_a_flatten_issued_while_redis_is_down_is_carried_out(flat_and_active, measured):
    stack = flat_and_active
    open_long(stack)
    stack.redis.stop()
    try:
        started = time.monotonic()
        out = stack.manage("killswitch", "flatten", "--reason", "fault: Redis down", "--wait", "0").stdout
        assert out.startswith("HALTED") and "flatten queued" in out  # never claims more than it knows
        wait_for(lambda: stack.query(*POSITION) == 0, 30, "the flatten to fill with Redis down")
        measured["flatten_filled_s_redis_down"] = round(time.monotonic() - started, 1)
        trade = stack.query("list(Trade.objects.order_by('-exit_time').values_list('exit_reason', flat=True)[:1])",
                            setup="from trading.models import Trade")
        assert trade == ["flatten"]
        assert stack.query("OrderCommand.objects.filter(action='flatten', acked_at__isnull=True).count()",
                           setup="from trading.models import OrderCommand") == 0
    finally:
        stack.redis.start()
    assert _state(stack)[0] == "HALTED"
    wait_for(lambda: stack.health()["status"] == "ok", 90, "health to recover once Redis is back")


def test_after_flushall_the_gateway_rebuilds_its_group_and_commands_still_get_through(flat_and_active, measured):
    stack = flat_and_active
    stack.redis.client().flushall()
    started = time.monotonic()
    out = stack.manage("killswitch", "reduce", "--reason", "fault: after FLUSHALL", "--wait", "20").stdout
    measured["reduce_confirmed_s_after_flushall"] = round(time.monotonic() - started, 1)
    assert "cancel_entries carried out by the gateway" in out
    groups = stack.redis.client().xinfo_groups("mia:orders")
    assert [g["name"] for g in groups] == ["gateway"]
    assert stack.log().count("NOGROUP") <= 3  # recreated at once, not 298 errors in 50 s
    assert _state(stack)[0] == "REDUCING"


def test_a_killed_trading_worker_is_restarted_and_takes_nothing_down(flat_and_active, measured):
    stack = flat_and_active
    others = {name: stack.pid(name) for name in ("redis", "web", "worker", "beat", "gateway") if name != "redis"}
    signals_before = stack.query("Signal.objects.count()", setup="from trading.models import Signal")
    os.kill(stack.pid("trading"), signal.SIGKILL)
    killed = time.monotonic()
    seen_red = wait_for(lambda: _trading_red(stack), 10, "/healthz to show the trading consumer missing", every=0.1)
    assert seen_red
    wait_for(lambda: stack.health()["status"] == "ok", 90, "the restarted worker to be healthy")
    measured["trading_worker_healthy_s_after_sigkill"] = round(time.monotonic() - killed, 1)
    assert {name: stack.pid(name) for name in others} == others  # no other process went down
    wait_for(lambda: stack.query("Signal.objects.count()", setup="from trading.models import Signal")
             > signals_before + 1, 60, "cycles to continue after the restart")


def _trading_red(stack: Stack) -> bool:
    health = stack.health()
    return health["status"] != "ok" and ("trading" in health["processes"]["restarting"]
                                         or "trading" in health["workers"].get("missing", []))


def test_a_redis_outage_loses_no_cycle_and_latches_no_halt(flat_and_active, measured):
    stack = flat_and_active
    before = _newest_bar(stack)
    audit_before = stack.query("AuditLog.objects.order_by('-id').values_list('id', flat=True).first() or 0",
                               setup="from trading.models import AuditLog")
    stack.redis.stop()
    time.sleep(20)
    stored_during = stack.query(f"Bar.objects.filter(ts__gt='{before}').count()",
                                setup="from trading.models import Bar")
    assert stored_during >= 2, "the gateway stored no bar during the outage: the test proves nothing"
    stack.redis.start()
    back = time.monotonic()
    wait_for(lambda: stack.query(f"Bar.objects.filter(ts__gt='{before}', signal__isnull=True).count()",
                                 setup="from trading.models import Bar") == 0, 90, "every stored bar to get its cycle")
    measured["bars_stored_during_20s_outage"] = stored_during
    assert _state(stack)[0] == "ACTIVE"  # Redis errors never latch a halt
    since = f"AuditLog.objects.filter(id__gt={audit_before})"
    assert stack.query(f"{since}.filter(action__startswith='trading_state.halted').count()",
                       setup="from trading.models import AuditLog") == 0
    late = stack.query(f"{since}.filter(action='cycle.late').count()", setup="from trading.models import AuditLog")
    assert late >= 1  # the missed cycles are in the audit trail
    wait_for(lambda: stack.health()["status"] == "ok", 60, "health ok after Redis is back")
    measured["healthz_ok_s_after_redis_back"] = round(time.monotonic() - back, 1)
    port = stack.url.rsplit(":", 1)[1]
    admin = _login(stack, "fault-admin", "fault-password-123")
    assert _ws_accepted(stack, admin, f"http://127.0.0.1:{port}") is True  # the first connection after works


def test_a_killed_gateway_mid_trade_restarts_reconciles_and_has_no_blind_window(flat_and_active, measured):
    stack = flat_and_active
    open_long(stack)
    old = stack.pid("gateway")
    bars_before = stack.query("Bar.objects.count()", setup="from trading.models import Bar")
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: stack.pid("gateway") != old, 30, "the gateway to be restarted")
    wait_for(lambda: stack.query("Bar.objects.count()", setup="from trading.models import Bar") > bars_before,
             90, "a new bar after the restart")
    measured["gateway_first_new_bar_s_after_sigkill"] = round(time.monotonic() - killed, 1)
    wait_for(lambda: stack.query("Bar.objects.count()", setup="from trading.models import Bar") >= bars_before + 3,
             90, "new bars after the restart (no blind window)")
    assert "already stored" not in stack.log().split(f"started gateway (pid {stack.pid('gateway')})")[-1]
    assert _state(stack)[0] == "ACTIVE"  # reconciled: the position and its working stop came back
    assert stack.query(*POSITION) == 1
    assert stack.query("Order.objects.filter(intent__role='STOP', state='ACCEPTED').count()",
                       setup="from trading.models import Order") == 1
    stack.manage("killswitch", "flatten", "--reason", "fault: done", "--wait", "20")
    wait_for(lambda: stack.query(*POSITION) == 0, 60, "flat again")


def test_concurrent_and_repeated_halts_keep_the_first_reason(flat_and_active):
    stack = flat_and_active
    procs = [subprocess.Popen([PY, "manage.py", "killswitch", "halt", "--reason", reason, "--wait", "0"], cwd=REPO,
                              env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for reason in ("first of two", "second of two")]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    state, reason = _state(stack)
    assert state == "HALTED" and reason in ("first of two", "second of two")
    stack.manage("killswitch", "halt", "--reason", "a third", "--wait", "0")
    assert _state(stack) == ["HALTED", reason]  # the first reason and actor stay
    actions = stack.query("list(AuditLog.objects.filter(reason__in=['first of two', 'second of two', 'a third'])"
                          ".order_by('id').values_list('action', flat=True))",
                          setup="from trading.models import AuditLog")
    assert actions == ["trading_state.halted", "trading_state.halted.again", "trading_state.halted.again"]


def test_a_truncated_chain_is_refused_and_never_stored(flat_and_active, tmp_path):
    stack = flat_and_active
    lines = (shared_data() / "options" / "spx_quotedata_2022-07-12_nickkxsper.csv").read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(lines[:1385]) + "\n")
    result = stack.manage("options_snapshot", "--cboe", str(cut), "--json", "--save", check=False)
    assert result.returncode != 0 and "cut short" in result.stderr
    assert stack.query("OptionsSnapshot.objects.filter(source='cboe').count()",
                       setup="from options.models import OptionsSnapshot") == 0


def test_bad_rows_are_reported_with_their_line_and_reason_by_backtest_and_replay(flat_and_active, tmp_path):
    stack = flat_and_active
    rows = (shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv").read_text().splitlines()[:400]
    rows[50] = rows[50].split(",")[0] + ",ES201312,not,a,price,row,1,,,,"
    rows[120] = "garbage"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n")
    for command in ("backtest", "replay"):
        summary = json.loads(stack.manage(command, "--data", str(path), "--no-ml", timeout=300).stdout)
        assert summary["rejected_rows"] == 2, command
        assert [r["line"] for r in summary["rejected"]] == [51, 121], command
        assert all(r["reason"] for r in summary["rejected"]), command


def _login(stack: Stack, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(stack.url + "/login/")
    response = session.post(stack.url + "/login/", data={"username": username, "password": password,
                                                         "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            headers={"Referer": stack.url + "/login/"}, allow_redirects=False)
    assert response.status_code == 302 and "sessionid" in session.cookies, f"{username} could not log in"
    return session


def _ws_accepted(stack: Stack, session: requests.Session, origin: str) -> bool | int:
    """True when the dashboard websocket accepts, else the close code (or False when refused at once)."""

    async def attempt() -> bool | int:
        url = stack.url.replace("http://", "ws://") + "/ws/dashboard/"
        headers = {"Cookie": f"sessionid={session.cookies['sessionid']}"}
        try:
            async with websockets.connect(url, origin=origin, additional_headers=headers, open_timeout=10) as ws:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ws.recv(), timeout=3)
                return True
        except websockets.exceptions.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else False
        except websockets.exceptions.InvalidStatus:
            return False

    # In its own thread: the browser tests (Playwright's sync API) may hold this thread's event loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, attempt()).result()


def test_the_websocket_checks_scheme_host_and_port_and_a_user_needs_a_role(flat_and_active):
    stack = flat_and_active
    stack.shell("from django.contrib.auth import get_user_model\n"
                "u, _ = get_user_model().objects.get_or_create(username='no-role')\n"
                "u.set_password('no-role-password-1'); u.save()")
    admin = _login(stack, "fault-admin", "fault-password-123")
    port = stack.url.rsplit(":", 1)[1]
    assert _ws_accepted(stack, admin, f"http://127.0.0.1:{port}") is True
    assert _ws_accepted(stack, admin, "http://127.0.0.1:9999") is not True  # same host, another port
    assert _ws_accepted(stack, admin, f"https://127.0.0.1:{port}") is not True  # same host and port, other scheme
    assert _ws_accepted(stack, admin, f"http://evil.example:{port}") is not True
    stranger = _login(stack, "no-role", "no-role-password-1")
    page = stranger.get(stack.url + "/")
    assert page.status_code == 403 and "has no role" in page.text and "Trading" not in page.text
    for path in ("/signals/", "/trades/", "/options/", "/ml/", "/backtests/"):
        assert stranger.get(stack.url + path).status_code == 403, path
    assert _ws_accepted(stack, stranger, f"http://127.0.0.1:{port}") is not True  # refused at the handshake


LIST_ENDPOINTS = ("trades", "signals", "orders", "fills", "daily-stats", "positions", "models", "options/snapshots")


def test_malformed_filter_values_are_a_400_on_the_real_server(flat_and_active):
    stack = flat_and_active
    headers = {"Authorization": f"Token {stack.token}"}
    for endpoint in LIST_ENDPOINTS:
        for query in ("since=%", "until=%ZZ", "since=2025-13-45"):
            response = requests.get(f"{stack.url}/api/v1/{endpoint}/?{query}", headers=headers, timeout=10)
            assert response.status_code == 400, (endpoint, query, response.status_code)


def test_schemathesis_finds_no_server_error_in_the_api(flat_and_active, tmp_path):
    stack = flat_and_active
    report = tmp_path / "junit.xml"
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "schemathesis"), "run", f"{stack.url}/api/v1/schema/", "--url",
         stack.url, "--checks", "not_a_server_error", "--max-examples", "20", "--header",
         f"Authorization: Token {stack.token}", "--report", "junit", "--report-junit-path", str(report),
         "--phases", "examples,coverage,fuzzing", "--workers", "1", "--seed", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    (REPO / "test-artifacts" / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
