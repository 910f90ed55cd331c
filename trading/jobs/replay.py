"""``manage.py replay``: a bar or tick file through the live path, as fast as it will go, in a scratch world.

What runs is what ``make run`` wires, with a file for a feed: the gateway (validation, bar building or
bar validation, ``Bar`` rows), the trading cycle as the ``trading`` worker runs it (the same Celery
task, run in the gateway's process so the next bar waits for it: that is what makes the run
deterministic), the outbox, the order stream on a real Redis, the paper broker, fills, the book and
trades. It runs in a child process against a scratch database and a scratch ``redis-server``, so the
user's database, Redis and dashboard are never touched.

The child is seeded with the settings the ``backtest`` command would use (the stored configuration,
``--config`` over it) and the same ML model (``mlfilter.backtest_filter``), so on the same file and
settings the two give identical trades; ``tests/replay`` holds that on the real ES files. A replay
ends as a backtest does: whatever is open is closed at the last bar's close (``end_of_data``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings as django_settings
from django.core.management import call_command

from mia_site.redis_server import free_port, server_binary
from mlfilter import backtest_filter
from mlfilter.models import ModelVersion
from trading import config, services
from trading.adapters.replay.feed import ReplayFeed
from trading.engine.backtest import make_result
from trading.engine.backtest.strategies import TRADE_COLUMNS
from trading.engine.calendar import to_ns
from trading.engine.loaders import BarFileError, load_bars
from trading.engine.report import equity_csv, trades_csv
from trading.engine.settings import RunSettings
from trading.engine.tickfile import TickFileError, read_ticks
from trading.jobs.backtests import BacktestInputError, one_line, rejected_list, settings_for
from trading.live import clock, runtime
from trading.models import Fill, Order, OrderCommand, Trade
from trading.tasks import on_bar, on_fill

REPO = Path(__file__).resolve().parent.parent.parent
MODEL_FIELDS = ("version", "trained_on", "source", "window_start", "window_end", "samples", "features", "parameters",
                "format_version", "artifact_dir")


class ReplayFailed(RuntimeError):
    """The child process failed; the message is its last line of error output."""


@dataclass(frozen=True)
class Request:
    data: Path
    fmt: str = "auto"
    tz: str | None = None
    config_file: Path | None = None
    ml: str | None = None


# ------------------------------------------------------------------ parent


def _span(request: Request) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last time of the file, read as the replay will read it (bad input: a one-line error)."""
    feed = ReplayFeed(request.data, fmt=request.fmt, tz=request.tz)
    try:
        if feed.is_ticks:
            ticks = read_ticks(request.data, tz=request.tz or "UTC").ticks
            if not ticks:
                raise BacktestInputError(f"no valid ticks in {request.data.name}")
            return pd.Timestamp(ticks[0].ts_ns, tz="UTC"), pd.Timestamp(ticks[-1].ts_ns, tz="UTC")
        bars = load_bars(request.data, fmt=request.fmt, tz=request.tz).bars
    except (BarFileError, TickFileError, OSError) as exc:
        raise BacktestInputError(one_line(exc) if str(exc) else "cannot read the file") from exc
    if bars.empty:
        raise BacktestInputError(f"no bars to replay in {request.data.name}")
    return bars.index[0], bars.index[-1]


def run(request: Request, *, log=None) -> dict[str, Any]:
    """Replay ``request`` in a scratch world; returns ``{"summary", "trades_csv", "equity_csv"}``."""
    start, end = _span(request)
    run_settings = settings_for(config_file=request.config_file)
    choice = backtest_filter.choose(request.ml, start=start, end=end)
    scratch = Path(tempfile.mkdtemp(prefix="mia-replay-"))
    port = free_port()
    redis = subprocess.Popen([str(server_binary()), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(scratch),
                              "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        (scratch / "settings.json").write_text(json.dumps(run_settings.to_dict()))
        model = ModelVersion.objects.get(version=choice.model) if choice.model else None
        (scratch / "ml.json").write_text(json.dumps({
            "choice": choice.describe(),
            "model": {name: _jsonable(getattr(model, name)) for name in MODEL_FIELDS} if model else None}))
        env = {**os.environ, "MIA_VAR_DIR": str(scratch), "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}",
               "REDIS_URL": f"redis://127.0.0.1:{port}/0", "MIA_PUSH": "0", "MIA_REDIS_ENABLED": "1",
               "MIA_ML_AUTO_DEPLOY": "0"}
        args = [sys.executable, str(REPO / "manage.py"), "replay", "--child", str(scratch), "--data",
                str(Path(request.data).resolve()), "--format", request.fmt]
        if request.tz:
            args += ["--tz", request.tz]
        proc = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()] or ["no output"]
            raise ReplayFailed(f"replay failed: {lines[-1]}")
        if log is not None and proc.stderr.strip():
            log(proc.stderr.strip().splitlines()[-1])
        return {"summary": json.loads((scratch / "result.json").read_text()),
                "trades_csv": (scratch / "trades.csv").read_text(),
                "equity_csv": (scratch / "equity.csv").read_text()}
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# ------------------------------------------------------------------ child (in the scratch world)


def run_child(scratch: Path, *, data: Path, fmt: str, tz: str | None) -> None:
    """Seed the scratch database, replay the file through the gateway, write result.json and the CSVs."""
    if Path(django_settings.VAR_DIR).resolve() != scratch.resolve():
        raise ReplayFailed("the replay child runs only in its scratch directory")
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)  # one INFO line per bar otherwise
    call_command("migrate", verbosity=0)
    run_settings = RunSettings.from_dict(json.loads((scratch / "settings.json").read_text()))
    config.store(run_settings)
    services.ensure_trading_state()
    ml = json.loads((scratch / "ml.json").read_text())
    if ml["model"] is not None:
        ModelVersion.objects.create(**ml["model"], deployed=True, deployed_by="replay")
    started = time.perf_counter()
    feed = ReplayFeed(data, fmt=fmt, tz=tz, symbol=django_settings.MIA_SYMBOL)
    marks: list[tuple[pd.Timestamp, float]] = []
    gateway, problems = runtime.build_gateway(feed, speed=1e15, enqueue=None, pushes=False,
                                              on_fill=lambda fill_id: on_fill.apply(args=[fill_id], throw=True))
    if problems:
        raise ReplayFailed("; ".join(problems))
    desk = gateway.desk

    def enqueue(bar) -> None:
        """The bar's cycle, as the worker runs it, and its orders at the broker before the next bar."""
        on_bar.apply(args=[bar.pk], throw=True)
        gateway.drain_commands()

    gateway.enqueue = enqueue
    gateway.on_bar = lambda bar: marks.append((pd.Timestamp(bar.ts), desk.book.equity(bar.close)))
    previous = clock.install(gateway.feed_clock)  # the cycle, run in this process, reads the gateway's clock
    try:
        stats = gateway.run()
        if marks:  # the end of the data, as the backtest ends it: closed at the last bar's close
            last = marks[-1][0]
            desk.close_out(price=gateway.stats.last_price, ts_ns=to_ns(last.to_pydatetime()))
            marks[-1] = (last, desk.book.equity())
    finally:
        clock.install(previous)
    elapsed = time.perf_counter() - started
    trades = _trades_frame()
    index = pd.DatetimeIndex([ts for ts, _ in marks], name="ts")
    result = make_result(index, trades, [eq for _, eq in marks], start_equity=run_settings.start_equity,
                         elapsed_s=elapsed)
    summary = result.summary(rejected_rows=len(feed.rejected))
    summary["rejected"] = rejected_list(feed.rejected)
    summary["settings"], summary["ml"] = config.run_settings().to_dict(), ml["choice"]
    summary["replay"] = {"feed": feed.kind, "ticks": stats.ticks, "bars": stats.bars,
                         "quarantined": stats.quarantined, "commands": OrderCommand.objects.count(),
                         "unacknowledged_commands": OrderCommand.objects.filter(acked_at__isnull=True).count(),
                         "orders": Order.objects.count(), "fills": Fill.objects.count()}
    (scratch / "result.json").write_text(json.dumps(summary, indent=1))
    (scratch / "trades.csv").write_text(trades_csv(trades))
    (scratch / "equity.csv").write_text(equity_csv(result.equity))


def _trades_frame() -> pd.DataFrame:
    rows = list(Trade.objects.order_by("exit_time", "id").values(*TRADE_COLUMNS))
    frame = pd.DataFrame(rows, columns=list(TRADE_COLUMNS))
    for column in ("entry_time", "exit_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
