"""A trader's day in a real browser: roles on the kill switch, exports, backtests, bias levels, every page."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS, PASSWORD, login
from tests.shared_data import shared_data

pytestmark = pytest.mark.e2e


def _as(page, stack, role: str) -> None:
    page.context.clear_cookies()
    login(page, stack.url, f"e2e-{role}", PASSWORD)


def _kill(page, action: str, reason: str) -> None:
    page.click(f"button[data-action={action}]")
    page.fill("#confirm-reason", reason)
    page.click("#confirm-ok")


def test_each_role_gets_exactly_its_kill_switch_powers(stack, page):
    _as(page, stack, "risk_admin")  # an earlier test left the system halted; only a risk admin lifts that
    if page.get_attribute("#trading-state", "data-state") != "ACTIVE":
        _kill(page, "resume", "e2e start")
        page.wait_for_selector("#trading-state[data-state=ACTIVE]")

    _as(page, stack, "viewer")
    assert page.locator("button[data-action]").count() == 0

    _as(page, stack, "operator")
    assert page.locator("button[data-action=resume]").count() == 0
    _kill(page, "reduce", "e2e reduce")
    page.wait_for_selector("#trading-state[data-state=REDUCING]")
    _kill(page, "halt", "e2e halt")
    page.wait_for_selector("#trading-state[data-state=HALTED]")
    _kill(page, "flatten", "e2e flatten")
    # Already halted: the first reason stays on the state (why trading stopped); the flatten is audited
    # and its command goes to the gateway.
    page.wait_for_selector("#trading-state:has-text('e2e halt')")
    assert "flatten" in stack.shell(
        "from trading.models import AuditLog; print(AuditLog.objects.filter(reason='e2e flatten')"
        ".values_list('action', flat=True).first())")
    page.screenshot(path=str(ARTIFACTS / "dashboard-operator-flattened.png"), full_page=True)

    _as(page, stack, "risk_admin")
    _kill(page, "resume", "e2e resume")
    page.wait_for_selector("#trading-state[data-state=ACTIVE]")
    assert page.console_errors == []


def test_the_chart_draws_the_dealers_bias_levels_when_a_snapshot_lands(stack, page):
    _as(page, stack, "viewer")
    page.wait_for_selector("#ws-status:text('live')")
    stack.shell("from options.tasks import snapshot; print(snapshot('SPX'))")
    page.wait_for_selector("#price-chart[data-levels='3']", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-bias-levels.png"), full_page=True)
    page.goto(stack.url + "/options/")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "options.png"), full_page=True)
    assert page.console_errors == []


def test_a_trades_csv_export_downloads_the_filtered_rows(stack, page):
    stack.shell("""
from datetime import datetime, timedelta, UTC
from trading.models import Trade
t0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
for i, side in enumerate(["LONG", "SHORT", "LONG"]):
    Trade.objects.create(symbol="ES", side=side, qty=1, entry_time=t0 + timedelta(minutes=10 * i),
                         exit_time=t0 + timedelta(minutes=10 * i + 5), entry_price=4800, exit_price=4802,
                         pnl_usd=95.0, commission_usd=5.0, exit_reason="target")
""")
    _as(page, stack, "viewer")
    page.goto(stack.url + "/trades/?since=2025-03-04&until=2025-03-04&side=LONG")
    page.screenshot(path=str(ARTIFACTS / "trades.png"), full_page=True)
    with page.expect_download() as download:
        page.click("a:has-text('CSV')")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["side"] for r in rows] == ["LONG", "LONG"]
    assert list(rows[0])[:9] == ["entry_time", "exit_time", "side", "qty", "entry_price", "exit_price", "pnl_usd",
                                 "commission_usd", "exit_reason"]
    assert page.console_errors == []


def test_a_backtest_launched_from_the_page_runs_to_its_report(stack, page):
    data_dir = stack.var / "data"
    data_dir.mkdir(exist_ok=True)
    shutil.copy(shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv", data_dir / "es_lean.csv")
    _as(page, stack, "operator")
    page.goto(stack.url + "/backtests/")
    page.select_option("select[name=existing]", "es_lean.csv")
    page.select_option("select[name=strategy]", "sma_cross")
    page.click("button[type=submit]:has-text('Run backtest')")
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / "backtest-submitted.png"), full_page=True)
    page.wait_for_selector("[data-status=done]", timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "backtest-detail.png"), full_page=True)
    with page.context.expect_page() as report_page:
        page.click("a:has-text('report')")
    report = report_page.value
    report.wait_for_load_state()
    assert "Equity" in report.content()
    report.screenshot(path=str(ARTIFACTS / "backtest-report.png"), full_page=True)
    page.goto(stack.url + "/backtests/")
    page.screenshot(path=str(ARTIFACTS / "backtests.png"), full_page=True)


def test_every_page_renders_without_errors(stack, page):
    _as(page, stack, "risk_admin")
    for name, path in [("signals", "/signals/"), ("ml", "/ml/"), ("admin", "/admin/"),
                       ("admin-risk", "/admin/trading/risksettings/"), ("api-docs", "/api/v1/docs/")]:
        response = page.goto(stack.url + path)
        assert response.status == 200, (path, response.status)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    first = page.locator("#signal-list a, .signals a").first
    if first.count():
        first.click()
        page.screenshot(path=str(ARTIFACTS / "signal-detail.png"), full_page=True)
    page.context.clear_cookies()
    page.goto(stack.url + "/login/")
    page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)
    assert page.console_errors == []
