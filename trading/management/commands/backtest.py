"""`manage.py backtest --data PATH [...]` (DESIGN section 5): a thin wrapper over trading.engine.backtest.

Loads the bars, runs the named strategy, prints the contract JSON and writes the requested files.
It touches no database. Bad input ends with a one-line ``CommandError`` (exit 1) and no output file;
all files are rendered first and then renamed into place together. ``--equity-start`` (default
50,000 USD) sets the account the strategy sizes from and the base of the drawdown percentage.
``--walk-forward K`` adds a ``folds`` list (one summary per fold) to the JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from trading.engine.backtest import BacktestConfig, run_backtest, strategy_names, walk_forward
from trading.engine.backtest.strategies import StrategyUnavailable
from trading.engine.report import build_report, equity_csv, trades_csv, write_all_or_nothing
from trading.jobs import backtests as backtest_jobs


class Command(BaseCommand):
    help = "Backtest a strategy over a bar file and print the metrics as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", required=True, type=Path)
        parser.add_argument("--format", dest="fmt", default="auto", choices=["auto", "ohlcv", "ninjatrader",
                                                                             "sierra", "lean"])
        parser.add_argument("--tz", default=None, help="zone of naive times in the file (default UTC)")
        parser.add_argument("--start", default=None)
        parser.add_argument("--end", default=None, help="inclusive; a bare date includes that whole day")
        parser.add_argument("--strategy", default="confluence")
        parser.add_argument("--fast", type=int, default=10)
        parser.add_argument("--slow", type=int, default=30)
        parser.add_argument("--no-ml", action="store_true", help="skip the ML filter")
        parser.add_argument("--walk-forward", type=int, default=0, metavar="K")
        parser.add_argument("--equity-start", type=float, default=50_000.0, help="starting equity, USD")
        parser.add_argument("--json", dest="json_out", type=Path, default=None)
        parser.add_argument("--trades", type=Path, default=None)
        parser.add_argument("--equity", type=Path, default=None)
        parser.add_argument("--report", type=Path, default=None)
        parser.add_argument("--strict", action="store_true", help="fail on the first bad row")

    def handle(self, *args, **o) -> None:
        if o["strategy"] not in strategy_names():
            raise CommandError(f"unknown strategy {o['strategy']!r}; known: {', '.join(strategy_names())}")
        try:
            window = backtest_jobs.load_window(o["data"], fmt=o["fmt"], tz=o["tz"], start=o["start"], end=o["end"],
                                               strict=o["strict"])
        except backtest_jobs.BacktestInputError as exc:
            raise CommandError(str(exc)) from exc
        bars = window.bars
        if not o["no_ml"] and o["strategy"] == "confluence":
            self.stderr.write("note: no ML filter is wired into backtests yet; running without it (use --no-ml)")
        try:
            config = BacktestConfig(strategy=o["strategy"], start_equity=o["equity_start"], fast=o["fast"],
                                    slow=o["slow"])
            result = self._run(bars, config)
            folds = walk_forward(bars, config, o["walk_forward"]) if o["walk_forward"] else None
        except (ValueError, StrategyUnavailable) as exc:
            raise CommandError(str(exc).splitlines()[0]) from exc
        summary = result.summary(rejected_rows=window.rejected_rows)
        if folds is not None:
            summary["folds"] = [f.summary() for f in folds]
        text = json.dumps(summary, indent=1)
        files: dict[Path, str] = {}
        if o["json_out"]:
            files[o["json_out"]] = text + "\n"
        if o["trades"]:
            files[o["trades"]] = trades_csv(result.trades)
        if o["equity"]:
            files[o["equity"]] = equity_csv(result.equity)
        if o["report"]:
            files[o["report"]] = build_report(bars, result.equity, result.trades, summary,
                                              start_equity=config.start_equity,
                                              title=f"MIA backtest: {config.strategy} on {o['data'].name}")
        try:
            write_all_or_nothing(files)
        except OSError as exc:
            raise CommandError(f"cannot write output: {exc}") from exc
        self.stdout.write(text)

    def _run(self, bars: pd.DataFrame, config: BacktestConfig):
        from tqdm import tqdm

        with tqdm(total=len(bars), unit="bar", file=sys.stderr, delay=1.0, leave=False) as bar:
            return run_backtest(bars, config, progress=bar.update)
