"""`manage.py backtest --data PATH [...]` (DESIGN section 5): a thin wrapper over trading.engine.backtest.

Runs under the stored configuration (the strategy weights and thresholds, the risk and bracket
settings, news blackouts: what the live worker trades under); ``--config FILE.json`` overrides any
part of it (``RunSettings`` layout). The ML filter is the deployed model when it enforces live
(``--ml deployed|none|VERSION``; see ``mlfilter.backtest_filter``), never one trained on these bars;
``--walk-forward K --ml retrain`` trains a fresh model on each fold's past only.

Prints the contract JSON (plus ``settings`` and ``ml``: what it ran under) and writes the requested
files. Bad input ends with a one-line ``CommandError`` (exit 1) and no output file; all files are
rendered first and then renamed into place together. ``--walk-forward K`` adds a ``folds`` list.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mlfilter import backtest_filter
from trading.engine.backtest import BacktestConfig, fold_bounds, run_backtest, strategy_names, walk_forward
from trading.engine.report import build_report, equity_csv, trades_csv, write_all_or_nothing
from trading.jobs import backtests as backtest_jobs


class Command(BaseCommand):
    help = "Backtest a strategy over a bar file, under the stored settings, and print the metrics as JSON."

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
        parser.add_argument("--config", type=Path, default=None, help="settings JSON over the stored settings")
        parser.add_argument("--ml", default=None, metavar="deployed|none|VERSION|retrain",
                            help="ML filter (default: the deployed model when it enforces live, else none)")
        parser.add_argument("--no-ml", action="store_true", help="same as --ml none")
        parser.add_argument("--ml-min-samples", type=int, default=1000, help="--ml retrain: signals needed")
        parser.add_argument("--walk-forward", type=int, default=0, metavar="K")
        parser.add_argument("--equity-start", type=float, default=None,
                            help="starting equity, USD (default: the stored account equity)")
        parser.add_argument("--json", dest="json_out", type=Path, default=None)
        parser.add_argument("--trades", type=Path, default=None)
        parser.add_argument("--equity", type=Path, default=None)
        parser.add_argument("--report", type=Path, default=None)
        parser.add_argument("--strict", action="store_true", help="fail on the first bad row")

    def handle(self, *args, **o) -> None:
        if o["strategy"] not in strategy_names():
            raise CommandError(f"unknown strategy {o['strategy']!r}; known: {', '.join(strategy_names())}")
        ml = "none" if o["no_ml"] else o["ml"]
        if ml == "retrain" and not o["walk_forward"]:
            raise CommandError("--ml retrain needs --walk-forward K (a model per fold, trained on its past)")
        try:
            window = backtest_jobs.load_window(o["data"], fmt=o["fmt"], tz=o["tz"], start=o["start"], end=o["end"],
                                               strict=o["strict"])
            settings = backtest_jobs.settings_for(config_file=o["config"])
        except backtest_jobs.BacktestInputError as exc:
            raise CommandError(str(exc)) from exc
        bars = window.bars
        overrides = {"strategy": o["strategy"], "fast": o["fast"], "slow": o["slow"]}
        if o["equity_start"] is not None:
            overrides["start_equity"] = o["equity_start"]
        try:
            config = BacktestConfig.from_settings(settings, **overrides)
            if ml == "retrain":
                choice, fold_filters = self._retrain(bars, o["walk_forward"], o["ml_min_samples"])
            else:
                choice, fold_filters = backtest_filter.choose(ml, start=bars.index[0], end=bars.index[-1]), None
                config.ml_filter = choice.filter
            result = self._run(bars, config)
            folds = (walk_forward(bars, config, o["walk_forward"], fold_filters=fold_filters)
                     if o["walk_forward"] else None)
        except backtest_filter.FilterRefused as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:
            raise CommandError(str(exc).splitlines()[0]) from exc
        summary = result.summary(rejected_rows=window.rejected_rows)
        summary["rejected"] = window.rejected  # the first 100 refused rows, {line, reason}
        summary["settings"] = settings.to_dict()
        summary["ml"] = choice.describe()
        if folds is not None:
            summary["folds"] = [f.summary() for f in folds]
            for fold, info in zip(summary["folds"], choice.folds, strict=False):
                fold["ml"] = info
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

    def _retrain(self, bars: pd.DataFrame, k: int, min_samples: int):
        """One filter per walk-forward fold, each trained on the bars before the fold; the whole-file run
        has none (no model can be out of sample for all of it)."""
        filters, infos = [], []
        for i, (a, _) in enumerate(fold_bounds(len(bars), k)):
            self.stderr.write(f"fold {i + 1}/{k}: training on {a:,} earlier bars")
            fold_filter, info = backtest_filter.retrained(bars.iloc[:a], min_samples=min_samples)
            filters.append(fold_filter)
            infos.append(info)
        choice = backtest_filter.FilterChoice(
            model="retrained", note="whole-file run unfiltered; each fold filtered by a model trained on its past",
            folds=infos)
        return choice, filters

    def _run(self, bars: pd.DataFrame, config: BacktestConfig):
        with tqdm(total=len(bars), unit="bar", file=sys.stderr, delay=1.0, leave=False) as bar:
            return run_backtest(bars, config, progress=bar.update)
