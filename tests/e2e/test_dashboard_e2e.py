"""In a real browser against the real stack: log in, watch live prices, halt, survive a restart."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e


def test_live_prices_kill_switch_and_halt_survives_restart(stack, page):
    login(page, stack.url)
    page.wait_for_selector("#ws-status:text('live')", timeout=15_000)
    # Live ticks arrive: the last price is filled in and then changes time stamp as ticks stream.
    page.wait_for_function("document.getElementById('last-time').textContent.length > 0", timeout=30_000)
    first = page.text_content("#last-time")
    page.wait_for_function(f"document.getElementById('last-time').textContent !== {first!r}", timeout=30_000)
    assert page.is_visible("#sim-badge")
    assert page.eval_on_selector("#price-chart", "el => el.data[0].x.length") > 1
    page.screenshot(path=str(ARTIFACTS / "dashboard-live.png"), full_page=True)

    page.click("button[data-action=halt]")
    assert "no new position is opened" in page.text_content("#confirm-text")
    page.fill("#confirm-reason", "e2e halt")
    page.click("#confirm-ok")
    page.wait_for_selector("#trading-state[data-state=HALTED]", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-halted.png"), full_page=True)
    assert page.console_errors == []

    stack.stop()
    stack.start()
    session = requests.Session()
    login(page, stack.url)
    assert page.get_attribute("#trading-state", "data-state") == "HALTED"
    assert "e2e halt" in page.text_content("#trading-state")
    session.close()
