"""`manage.py train_filter --data PATH [...]`: train the ML signal filter on bar files (DESIGN section 5).

Prints the contract JSON (``model_version, samples, folds, auc, brier, log_loss, precision_at_threshold,
recall_at_threshold, filtered, unfiltered``; scores are out-of-sample walk-forward) and writes the
model into ``--out/<model_version>/``. Nothing partial is left behind: the model is written into a
temporary directory next to its destination and renamed into place only when complete. The model is
then registered as a ModelVersion (not deployed: a risk admin deploys it from the ML page or the
admin) unless ``--no-register``; if registering fails, the model directory is removed again.
``--trained-on simulated`` labels a model trained on simulated bars.

Instrument units per file: ``--tick-size`` and ``--multiplier`` ($ per point) may be given once (all
files) or once per ``--data`` in order; by default a file whose name contains "spy" is read on a 0.01
grid at $500 a point (one ES-equivalent: SPY ~ S&P/10, ES $50 a point), anything else as ES.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mlfilter import jobs
from mlfilter.ml.ensemble import EnsembleConfig
from mlfilter.ml.labels import BarrierConfig
from mlfilter.ml.training import BarSet, TrainConfig, train
from trading.engine.loaders import BarFileError, load_bars


def _units(paths: list[Path], given: list[float] | None, spy: float, other: float, what: str) -> list[float]:
    if not given:
        return [spy if "spy" in p.name.lower() else other for p in paths]
    if len(given) == 1:
        return given * len(paths)
    if len(given) != len(paths):
        raise CommandError(f"--{what} given {len(given)} times for {len(paths)} --data files; give it once or per file")
    return given


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Command(BaseCommand):
    help = "Train the ML signal filter on bar files; print the out-of-sample scores as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", action="append", type=Path, required=True, help="bar file (repeatable)")
        parser.add_argument("--format", default="auto", choices=("auto", "ohlcv", "ninjatrader", "sierra"))
        parser.add_argument("--tz", default=None, help="zone of naive timestamps (default UTC)")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--threshold", type=float, default=0.65)
        parser.add_argument("--min-samples", type=int, default=1000)
        parser.add_argument("--time-limit", type=int, default=BarrierConfig.time_limit,
                            help="time barrier in bars (default: the live bracket's time exit)")
        parser.add_argument("--tick-size", type=float, action="append", default=None)
        parser.add_argument("--multiplier", type=float, action="append", default=None, help="$ per point")
        parser.add_argument("--out", type=Path, default=None, help="model directory root (default var/models)")
        parser.add_argument("--json", dest="json_out", type=Path, default=None, help="also write the JSON here")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--no-register", action="store_true", help="write the model files only; no DB row")
        parser.add_argument("--trained-on", default="real", choices=("real", "simulated"))

    def handle(self, *args, **opts) -> None:
        paths: list[Path] = opts["data"]
        ticks = _units(paths, opts["tick_size"], 0.01, 0.25, "tick-size")
        mults = _units(paths, opts["multiplier"], 500.0, 50.0, "multiplier")
        try:
            config = TrainConfig(ensemble=EnsembleConfig(threshold=opts["threshold"]),
                                 barrier=BarrierConfig(time_limit=opts["time_limit"]), folds=opts["folds"],
                                 min_samples=opts["min_samples"])
        except ValueError as exc:
            raise CommandError(_one_line(exc)) from exc
        sets = []
        for path, tick, mult in zip(paths, ticks, mults, strict=True):
            try:
                loaded = load_bars(path, fmt=opts["format"], tz=opts["tz"], tick_size=tick)
            except BarFileError as exc:
                raise CommandError(_one_line(exc)) from exc
            if len(loaded.bars) == 0:
                raise CommandError(f"{path}: no valid bars")
            sets.append(BarSet(bars=loaded.bars, name=path.name, tick_size=tick, point_value=mult))

        bar = tqdm(total=100, file=sys.stderr, unit="%", disable=opts["no_progress"], leave=False)

        def progress(fraction: float, message: str) -> None:
            bar.set_description(message[:40])
            bar.update(max(0, int(round(fraction * 100)) - bar.n))

        try:
            result = train(sets, config=config, progress=progress)
        except ValueError as exc:  # NotEnoughSamples and bad configurations
            raise CommandError(_one_line(exc)) from exc
        finally:
            bar.close()
        summary = result.summary()
        text = json.dumps(summary, indent=1)
        root = opts["out"] or Path(settings.VAR_DIR) / "models"
        try:
            final = jobs.write_artifacts(result=result, root=root)
        except OSError as exc:
            raise CommandError(f"cannot write the model under {root}: {_one_line(exc)}") from exc
        if not opts["no_register"]:
            self._register(result, final, config, opts["trained_on"])
        if opts["json_out"] is not None:
            _atomic_write(opts["json_out"], text + "\n")
        self.stdout.write(text)

    def _register(self, result, final: Path, config, trained_on: str) -> None:
        try:
            jobs.register_model(result=result, artifact_dir=final, trained_on=trained_on, source="cli",
                                config=config)
        except Exception as exc:
            shutil.rmtree(final, ignore_errors=True)
            raise CommandError(f"cannot register {final.name}: {_one_line(exc)}") from exc


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
