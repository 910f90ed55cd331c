"""The `manage.py backtest` contract (DESIGN section 5): JSON keys, CSV headers, failures."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.shared_data import REPO, shared_data
from trading.engine.backtest import SUMMARY_KEYS

pytestmark = pytest.mark.django_db  # the command reads the stored settings
TRADES_HEADER = "entry_time,exit_time,side,qty,entry_price,exit_price,pnl_usd,commission_usd,exit_reason"


def tiny_file(tmp_path: Path) -> Path:
    closes = [10, 10, 10, 11, 12, 11, 9, 8, 9, 11, 12, 12]
    lines = ["timestamp,open,high,low,close,volume"]
    prev = None
    for i, c in enumerate(closes):
        close = 4800 + c
        op = close if prev is None else prev + 0.25
        lines.append(f"2024-01-10T15:{i:02d}:00Z,{op},{max(op, close) + 0.5},{min(op, close) - 0.5},{close},100")
        prev = close
    path = tmp_path / "tiny.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def backtest(*args: str) -> str:
    out = io.StringIO()
    call_command("backtest", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_sma_cross_outputs(tmp_path):
    data = tiny_file(tmp_path)
    outs = {name: tmp_path / "out" / name for name in ("r.json", "t.csv", "e.csv", "r.html")}
    printed = backtest("--data", str(data), "--strategy", "sma_cross", "--fast", "2", "--slow", "3",
                       "--json", str(outs["r.json"]), "--trades", str(outs["t.csv"]), "--equity", str(outs["e.csv"]),
                       "--report", str(outs["r.html"]))
    summary = json.loads(outs["r.json"].read_text())
    assert list(summary)[:len(SUMMARY_KEYS)] == list(SUMMARY_KEYS) and json.loads(printed) == summary
    assert summary["settings"]["risk"]["daily_loss_limit"] == 500.0 and summary["ml"]["model"] is None
    assert summary["bars"] == 12 and summary["trades"] == 3 and summary["rejected_rows"] == 0
    assert summary["net_pnl_usd"] == -162.5 and summary["win_rate"] == pytest.approx(1 / 3)
    assert summary["start"] == "2024-01-10T15:00:00Z" and summary["end"] == "2024-01-10T15:11:00Z"
    rows = list(csv.reader(outs["t.csv"].open()))
    assert ",".join(rows[0]) == TRADES_HEADER
    assert rows[1][:4] == ["2024-01-10T15:04:00Z", "2024-01-10T15:07:00Z", "LONG", "1"]
    equity = outs["e.csv"].read_text().splitlines()
    assert equity[0] == "timestamp,equity_usd" and len(equity) == 13
    page = outs["r.html"].read_text()
    assert "Plotly.newPlot" in page and "<script src=" not in page  # plotly.js inline, no CDN
    assert "<h2>Settings</h2>" in page and "risk.daily_loss_limit" in page  # the report states its settings
    assert not [p for p in outs["r.json"].parent.iterdir() if p.name.endswith(".tmp")]


def test_date_range_and_walk_forward(tmp_path):
    data = tiny_file(tmp_path)
    summary = json.loads(backtest("--data", str(data), "--strategy", "sma_cross", "--fast", "2", "--slow", "3",
                                  "--start", "2024-01-10T15:02:00", "--end", "2024-01-10", "--walk-forward", "2"))
    assert summary["bars"] == 10 and len(summary["folds"]) == 2
    assert [f["bars"] for f in summary["folds"]] == [5, 5]


def test_confluence_on_real_file(tmp_path):
    data = shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv"
    summary = json.loads(backtest("--data", str(data), "--no-ml", "--end", "2013-10-08"))
    assert list(summary)[:len(SUMMARY_KEYS)] == list(SUMMARY_KEYS)
    assert 0 <= summary["win_rate"] <= 1 and summary["bars"] > 1000 and summary["bars_per_s"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "/nonexistent/bars.csv"], "cannot read"),
    (["--strategy", "nope"], "unknown strategy"),
    (["--start", "2030-01-01"], "no bars"),
    (["--fast", "0"], "--fast and --slow"),
])
def test_bad_input_fails_with_one_line_and_no_files(tmp_path, args, message):
    data = tiny_file(tmp_path)
    out = tmp_path / "out"
    base = ["--data", str(data), "--strategy", "sma_cross", "--json", str(out / "r.json"),
            "--trades", str(out / "t.csv")]
    with pytest.raises(CommandError) as exc:
        backtest(*base, *args)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    assert not out.exists() or not list(out.iterdir())


def test_write_failure_leaves_no_partial_files(tmp_path):
    data = tiny_file(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CommandError, match="cannot write output"):
        backtest("--data", str(data), "--strategy", "sma_cross", "--json", str(tmp_path / "r.json"),
                 "--report", str(blocker / "r.html"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "tiny.csv"]


def test_exit_code_and_message_from_the_shell(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "manage.py"), "backtest", "--data", str(tmp_path / "none.csv")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot read" in lines[0]


def _lean(*args: str) -> dict:
    data = shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv"
    return json.loads(backtest("--data", str(data), "--no-ml", "--end", "2013-10-11", *args))


def test_a_backtest_runs_under_the_settings_edited_in_the_admin_without_any_flag():
    from trading.models import RiskSettings, StrategyConfig

    default = _lean()
    assert default["settings"]["risk"]["max_position"] == 2 and default["trades"] > 0
    risk = RiskSettings.load()
    risk.max_position = risk.max_order_qty = 1
    risk.save()
    strategy = StrategyConfig.load()
    strategy.buy, strategy.sell = 0.62, 0.38
    strategy.save()
    edited = _lean()
    assert edited["settings"]["risk"]["max_position"] == 1 and edited["settings"]["confluence"]["buy"] == 0.62
    assert (edited["trades"], edited["net_pnl_usd"]) != (default["trades"], default["net_pnl_usd"])


def test_a_config_file_overrides_the_stored_settings(tmp_path):
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"risk": {"max_position": 1, "max_order_qty": 1}, "start_equity": 80000}))
    summary = _lean("--config", str(config))
    assert summary["settings"]["risk"]["max_position"] == 1 and summary["settings"]["start_equity"] == 80000
    config.write_text(json.dumps({"risk": {"max_postion": 1}}))
    with pytest.raises(CommandError, match="unknown risk setting"):
        _lean("--config", str(config))
