"""`manage.py replay --data PATH [--format ...] [--tz TZ] [--trades OUT.csv] [--json OUT.json]` (DESIGN §5).

The live path at full speed in a scratch database and Redis (``trading.jobs.replay``); the outputs are
the ``backtest`` formats (JSON keys, trades and equity CSVs), plus ``replay`` (what went through the
gateway). Same file and settings as ``backtest``: identical trades. ``--config`` and ``--ml`` as in
``backtest``. Bad input ends with a one-line error and no output file.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mlfilter.backtest_filter import FilterRefused
from trading.engine.report import write_all_or_nothing
from trading.jobs import replay
from trading.jobs.backtests import BacktestInputError


class Command(BaseCommand):
    help = "Replay a bar or tick file through the live path (scratch database) and print the backtest JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", required=True, type=Path)
        parser.add_argument("--format", dest="fmt", default="auto",
                            choices=["auto", "ohlcv", "ninjatrader", "sierra", "lean", "ticks"])
        parser.add_argument("--tz", default=None, help="zone of naive times in the file (default UTC)")
        parser.add_argument("--config", type=Path, default=None, help="settings JSON over the stored settings")
        parser.add_argument("--ml", default=None, metavar="deployed|none|VERSION")
        parser.add_argument("--no-ml", action="store_true", help="same as --ml none")
        parser.add_argument("--json", dest="json_out", type=Path, default=None)
        parser.add_argument("--trades", type=Path, default=None)
        parser.add_argument("--equity", type=Path, default=None)
        parser.add_argument("--child", type=Path, default=None, help="(internal) run in this scratch directory")

    def handle(self, *args, **o) -> None:
        if o["child"] is not None:
            replay.run_child(o["child"], data=o["data"], fmt=o["fmt"], tz=o["tz"])
            return
        if not o["data"].exists():
            raise CommandError(f"cannot read {o['data']}: no such file")
        request = replay.Request(data=o["data"], fmt=o["fmt"], tz=o["tz"], config_file=o["config"],
                                 ml="none" if o["no_ml"] else o["ml"])
        try:
            out = replay.run(request, log=self.stderr.write)
        except (BacktestInputError, FilterRefused, replay.ReplayFailed) as exc:
            raise CommandError(str(exc).splitlines()[0]) from exc
        text = json.dumps(out["summary"], indent=1)
        files: dict[Path, str] = {}
        if o["json_out"]:
            files[o["json_out"]] = text + "\n"
        if o["trades"]:
            files[o["trades"]] = out["trades_csv"]
        if o["equity"]:
            files[o["equity"]] = out["equity_csv"]
        try:
            write_all_or_nothing(files)
        except OSError as exc:
            raise CommandError(f"cannot write output: {exc}") from exc
        self.stdout.write(text)
