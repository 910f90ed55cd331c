"""`replay` (the live path: gateway, worker cycle, outbox, Redis stream, paper broker) and `backtest` give
identical trades on the same real file and settings (DESIGN §5)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.shared_data import shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]


def _run(command: str, path, tmp_path) -> tuple[dict, str]:
    out, trades = tmp_path / f"{command}.json", tmp_path / f"{command}.csv"
    call_command(command, "--data", str(path), "--no-ml", "--json", str(out), "--trades", str(trades),
                 stdout=io.StringIO(), stderr=io.StringIO())
    return json.loads(out.read_text()), trades.read_text()


REAL_FILES = ["es_1min_frontmonth_lean_DERIVED.csv", "es_5min_2024-12_2025-12_tradingview_DERIVED.csv"]


@pytest.mark.timeout(1800)  # the live path at ~200 bars/s: the 70,616-bar file takes minutes
@pytest.mark.parametrize("name", REAL_FILES)
def test_replay_and_backtest_make_identical_trades(name, tmp_path):
    path = shared_data() / "es" / name
    backtest, backtest_trades = _run("backtest", path, tmp_path)
    replay, replay_trades = _run("replay", path, tmp_path)
    assert backtest["trades"] > 0, "no trades: the comparison would prove nothing"
    assert replay_trades.splitlines() == backtest_trades.splitlines()  # times, sides, sizes, prices, reasons
    for key in ("bars", "trades", "net_pnl_usd", "gross_profit_usd", "gross_loss_usd", "win_rate", "profit_factor"):
        assert replay[key] == backtest[key], key
    assert replay["max_drawdown_pct"] == pytest.approx(backtest["max_drawdown_pct"], abs=1e-9)
    assert replay["settings"] == backtest["settings"]
    counts = replay["replay"]
    assert counts["bars"] == backtest["bars"] and counts["unacknowledged_commands"] == 0
    assert counts["fills"] == 2 * backtest["trades"]
