"""Backtests as background jobs: input files, BacktestRun rows and the Celery task that runs them.

The pure backtester (`trading.engine.backtest`) does the work. This module picks the input file
safely (only names inside `VAR_DIR/data`), reports progress and honours cancellation through the
row, and writes the report and CSVs under `VAR_DIR/backtests/<pk>/`. `parse_bound` and `load_window`
are shared with `manage.py backtest`, so the page and the CLI read files and date ranges the same way.

The task is named `mia.backtest_run` so it routes to the `default` queue: a long backtest must never
sit in front of the ordered `trading` queue.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from celery import shared_task
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from mlfilter import backtest_filter
from trading import config as stored_config
from trading.engine import loaders
from trading.engine.backtest import BacktestConfig, run_backtest, strategy_names
from trading.engine.report import build_report, equity_csv, trades_csv, write_all_or_nothing
from trading.engine.settings import RunSettings
from trading.models import BacktestRun

log = logging.getLogger(__name__)

ALLOWED_EXTENSIONS = (".csv", ".txt")  # headed CSV, Sierra text export, NinjaTrader export
MAX_UPLOAD_BYTES: int = getattr(settings, "MIA_BACKTEST_MAX_UPLOAD_BYTES", 500 * 1024 * 1024)
FORMATS = ("auto", "ohlcv", "ninjatrader", "sierra")  # uploads are single text files: no Lean zips
PROGRESS_STEP = 0.02  # save progress to the row at most every 2 %
SIM_SPAN = (0.05, 0.95)  # the simulation's share of the progress bar; loading and writing take the ends
OUTPUT_NAMES = {"report": "report.html", "trades": "trades.csv", "equity": "equity.csv"}

Status = BacktestRun.Status


class BacktestInputError(ValueError):
    """Bad input for a backtest; the message is one line, fit to show a user."""


class Cancelled(Exception):
    """Raised from the progress callback once a cancel was requested; the run ends as cancelled."""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# ------------------------------------------------------------------ shared with the CLI


def parse_bound(text: str | None, tz: str | None, *, end: bool) -> tuple[pd.Timestamp | None, bool]:
    """A start/end value as UTC; a bare date as the end means the whole day (exclusive next midnight)."""
    if not text:
        return None, False
    try:
        ts = pd.Timestamp(text)
    except ValueError as exc:
        raise BacktestInputError(f"bad date {text!r}: {exc}") from exc
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz or "UTC")
    date_only = end and len(text.strip()) <= 10
    return (ts + pd.Timedelta(days=1) if date_only else ts).tz_convert("UTC"), date_only


REJECTED_SHOWN = 100  # rows listed in the JSON's `rejected` (`rejected_rows` counts them all)


@dataclass
class Window:
    bars: pd.DataFrame
    rejected_rows: int
    rejected: list[dict[str, Any]]


def load_window(path: Path, *, fmt: str = "auto", tz: str | None = None, start: str | None = None,
                end: str | None = None, strict: bool = False) -> Window:
    """Load a bar file and cut it to [start, end]; refuses an empty result with a one-line reason."""
    try:
        loaded = loaders.load_bars(path, fmt=fmt, tz=tz, strict=strict)
    except loaders.BarFileError as exc:
        raise BacktestInputError(one_line(exc) if str(exc) else "cannot read bars") from exc
    bars = loaded.bars
    lo, _ = parse_bound(start, tz, end=False)
    hi, exclusive = parse_bound(end, tz, end=True)
    if lo is not None:
        bars = bars[bars.index >= lo]
    if hi is not None:
        bars = bars[bars.index < hi] if exclusive else bars[bars.index <= hi]
    if bars.empty:
        where = " in the given date range" if lo is not None or hi is not None else ""
        raise BacktestInputError(f"no bars to backtest in {Path(path).name}{where}")
    return Window(bars=bars, rejected_rows=len(loaded.rejected), rejected=rejected_list(
        [(r.line, r.reason) for r in loaded.rejected]))


def rejected_list(rows: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """The first ``REJECTED_SHOWN`` refused rows as ``{"line", "reason"}``, for the JSON."""
    return [{"line": line, "reason": reason} for line, reason in rows[:REJECTED_SHOWN]]


def settings_for(*, config_file: Path | None = None) -> RunSettings:
    """The stored settings (what the live worker trades under), with ``config_file`` over them.

    Without a database (a fresh clone, not yet set up) a config file still runs, over the code
    defaults; without either there is nothing honest to run under, so it is refused.
    """
    try:
        base = stored_config.run_settings()
    except DatabaseError as exc:
        if config_file is None:
            raise BacktestInputError("the stored settings cannot be read (is the database set up? `make run` or "
                                     "`manage.py migrate`); or pass --config FILE.json") from exc
        base = RunSettings()
    if config_file is None:
        return base
    try:
        data = json.loads(Path(config_file).read_text())
    except (OSError, ValueError) as exc:
        raise BacktestInputError(f"--config {config_file}: {one_line(exc)}") from exc
    if not isinstance(data, dict):
        raise BacktestInputError(f"--config {config_file}: expected a JSON object")
    try:
        return RunSettings.from_dict(data, base=base)
    except (TypeError, ValueError) as exc:
        raise BacktestInputError(f"--config {config_file}: {one_line(exc)}") from exc


# ------------------------------------------------------------------ data files (VAR_DIR/data only)


def data_dir() -> Path:
    path = Path(settings.VAR_DIR) / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_name(name: str) -> None:
    if not name or name != Path(name).name or name.startswith(".") or "\\" in name or "\x00" in name:
        raise BacktestInputError(f"{name!r} is not a plain file name")
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise BacktestInputError(f"{name!r}: only {', '.join(ALLOWED_EXTENSIONS)} bar files are accepted")


def list_data_files() -> list[dict[str, Any]]:
    """Bar files already in VAR_DIR/data, newest first: name, size in bytes, modified time."""
    rows = []
    for entry in os.scandir(data_dir()):
        if entry.is_file() and not entry.name.startswith(".") and entry.name.lower().endswith(ALLOWED_EXTENSIONS):
            stat = entry.stat()
            rows.append({"name": entry.name, "size": stat.st_size, "mtime": stat.st_mtime})
    return sorted(rows, key=lambda r: (-r["mtime"], r["name"]))


def resolve_data_file(name: str) -> Path:
    """The path of `name` inside VAR_DIR/data; refuses anything else (traversal, symlinks out, missing)."""
    _check_name(name)
    root = data_dir().resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise BacktestInputError(f"{name!r} is outside the data directory")
    if not path.is_file():
        raise BacktestInputError(f"no data file named {name!r}")
    return path


def save_upload(upload: UploadedFile) -> str:
    """Store an uploaded bar file in VAR_DIR/data and return its (possibly de-duplicated) name."""
    name = get_valid_filename(Path((upload.name or "").replace("\\", "/")).name)
    _check_name(name)
    if upload.size is None or upload.size == 0:
        raise BacktestInputError("the uploaded file is empty")
    if upload.size > MAX_UPLOAD_BYTES:
        raise BacktestInputError(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if b"\x00" in head:
        raise BacktestInputError("the file is not a text (CSV) file")
    try:
        return FileSystemStorage(location=data_dir()).save(name, upload)
    except SuspiciousFileOperation as exc:
        raise BacktestInputError(f"{name!r} is not a plain file name") from exc


def run_dir(run: BacktestRun) -> Path:
    return Path(settings.VAR_DIR) / "backtests" / str(run.pk)


def output_file(run: BacktestRun, kind: str) -> Path | None:
    """A finished run's output (`report`, `trades`, `equity`) if it exists inside the run's directory."""
    stored = {"report": run.report_path, "trades": run.trades_csv_path, "equity": run.equity_csv_path}[kind]
    if not stored:
        return None
    path = Path(stored).resolve()
    if not path.is_relative_to(run_dir(run).resolve()) or not path.is_file():
        return None
    return path


# ------------------------------------------------------------------ services (writes)


def clean_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validated, JSON-friendly run options; raises BacktestInputError with the first problem."""
    strategy = options.get("strategy") or "confluence"
    if strategy not in strategy_names():
        raise BacktestInputError(f"unknown strategy {strategy!r}; known: {', '.join(strategy_names())}")
    fmt = options.get("format") or "auto"
    if fmt not in FORMATS:
        raise BacktestInputError(f"unknown format {fmt!r}")
    try:
        fast, slow = int(options.get("fast", 10)), int(options.get("slow", 30))
        equity = float(options.get("equity_start", 50_000.0))
    except (TypeError, ValueError) as exc:
        raise BacktestInputError(f"bad number: {exc}") from exc
    if fast < 1 or slow < 1:
        raise BacktestInputError("SMA lengths must be at least 1")
    if strategy == "sma_cross" and fast >= slow:
        raise BacktestInputError("the fast SMA must be shorter than the slow one")
    if not 0 < equity < 1e12:
        raise BacktestInputError("starting equity must be positive")
    start, end = options.get("start") or None, options.get("end") or None
    lo, _ = parse_bound(str(start) if start else None, None, end=False)
    hi, _ = parse_bound(str(end) if end else None, None, end=True)
    if lo is not None and hi is not None and hi <= lo:
        raise BacktestInputError("the end must be after the start")
    return {"strategy": strategy, "format": fmt, "fast": fast, "slow": slow, "equity_start": equity,
            "start": str(start) if start else None, "end": str(end) if end else None}


@transaction.atomic
def create_run(*, user: Any, data_name: str, options: dict[str, Any]) -> BacktestRun:
    """Record a run and enqueue it once the row is committed (a worker never sees an uncommitted run)."""
    resolve_data_file(data_name)
    run = BacktestRun.objects.create(user=user if getattr(user, "is_authenticated", False) else None,
                                     data_path=data_name, options=clean_options(options), message="queued")
    transaction.on_commit(lambda: backtest_run.delay(run.pk))
    return run


@transaction.atomic
def request_cancel(*, run_id: int) -> BacktestRun:
    """A queued run is cancelled at once; a running one is flagged and stops at its next progress report."""
    run = BacktestRun.objects.select_for_update().get(pk=run_id)
    if run.status == Status.QUEUED:
        run.status, run.finished_at, run.message = Status.CANCELLED, timezone.now(), "cancelled before it started"
    elif run.status == Status.RUNNING:
        run.message = "cancelling…"
    else:
        return run  # already finished: nothing to stop
    run.cancel_requested = True
    run.save(update_fields=["status", "finished_at", "message", "cancel_requested"])
    return run


class ProgressReporter:
    """The backtester's progress callback: saves progress every PROGRESS_STEP, stops on a cancel request."""

    def __init__(self, run_id: int, total: int, *, step: float = PROGRESS_STEP) -> None:
        self.run_id, self.total, self.step = run_id, max(1, total), step
        self.done, self.saved = 0, -1.0

    def __call__(self, n: int) -> None:
        self.done += n
        fraction = min(1.0, self.done / self.total)
        if fraction - self.saved < self.step and fraction < 1.0:
            return
        self.saved = fraction
        if BacktestRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            raise Cancelled
        lo, hi = SIM_SPAN
        BacktestRun.objects.filter(pk=self.run_id, status=Status.RUNNING).update(progress=lo + (hi - lo) * fraction)


def _update(run_id: int, **fields: Any) -> None:
    BacktestRun.objects.filter(pk=run_id).update(**fields)


def _run(run: BacktestRun) -> dict[str, Any]:
    opts = run.options
    window = load_window(resolve_data_file(run.data_path), fmt=opts.get("format", "auto"),
                         start=opts.get("start"), end=opts.get("end"))
    bars = window.bars
    settings = settings_for()
    config = BacktestConfig.from_settings(settings, strategy=opts["strategy"], start_equity=float(opts["equity_start"]),
                                          fast=int(opts["fast"]), slow=int(opts["slow"]))
    choice = backtest_filter.choose(None, start=bars.index[0], end=bars.index[-1])
    config.ml_filter = choice.filter
    _update(run.pk, progress=SIM_SPAN[0], message=f"running {config.strategy} over {len(bars):,} bars")
    result = run_backtest(bars, config, progress=ProgressReporter(run.pk, len(bars)))
    summary = result.summary(rejected_rows=window.rejected_rows)
    summary["rejected"] = window.rejected
    summary["settings"], summary["ml"] = settings.to_dict(), choice.describe()
    _update(run.pk, progress=SIM_SPAN[1], message="writing the report")
    out = run_dir(run)
    paths = {kind: out / name for kind, name in OUTPUT_NAMES.items()}
    write_all_or_nothing({
        paths["report"]: build_report(bars, result.equity, result.trades, summary, start_equity=config.start_equity,
                                      title=f"MIA backtest {run.pk}: {config.strategy} on {run.data_path}"),
        paths["trades"]: trades_csv(result.trades),
        paths["equity"]: equity_csv(result.equity),
    })
    return {"result": summary, "report_path": str(paths["report"]), "trades_csv_path": str(paths["trades"]),
            "equity_csv_path": str(paths["equity"]),
            "message": f"{summary['trades']} trades over {summary['bars']:,} bars"}


def execute_run(run_id: int) -> str | None:
    """Run a queued backtest to done, failed or cancelled. A run that is not queued is left alone,
    so a redelivered task does not run twice."""
    claimed = BacktestRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), progress=0.0, message="loading bars")
    if not claimed:
        log.info("backtest %s is not queued; nothing to do", run_id)
        return None
    run = BacktestRun.objects.get(pk=run_id)
    try:
        fields = _run(run)
    except Cancelled:
        fields = {"status": Status.CANCELLED, "message": "cancelled"}
    except (BacktestInputError, backtest_filter.FilterRefused, ValueError, OSError) as exc:
        fields = {"status": Status.FAILED, "message": one_line(exc)}
    except Exception as exc:  # noqa: BLE001 - a crashed run must not stay "running" forever
        log.exception("backtest %s crashed", run_id)
        fields = {"status": Status.FAILED, "message": f"internal error: {one_line(exc)}"}
    else:
        fields["status"], fields["progress"] = Status.DONE, 1.0
    _update(run_id, finished_at=timezone.now(), **fields)
    return fields["status"]


@shared_task(name="mia.backtest_run")
def backtest_run(run_id: int) -> str | None:
    """Thin: load the run by key and execute it (default queue, never the ordered trading queue)."""
    if not BacktestRun.objects.filter(pk=run_id).exists():
        log.warning("backtest_run: run %s not found; ignored", run_id)
        return None
    return execute_run(run_id)
