"""`manage.py ml_bootstrap [--days N] [--seed S] [--force] [--strict]`: the first model, from simulated data.

Before any real bars are stored there is nothing to train on, so the first model learns from the
simulated ES feed (run flat out, bars built in memory, nothing written but the model). It is
registered as ``trained_on="simulated"`` (badged on the ML page) and deployed only when no model is
deployed; the daily retrain on stored bars replaces it (see ``services.beats``).

``min_samples`` scales with the history: ``clamp(100 x days, 100, 1000)``. The simulator yields about
160 candidate signals a simulated session, so that is well under the expected count (a quiet seed
still trains) while a too-short history still stops with "not enough samples"; 1000 is DESIGN's floor
and the cap. Default 20 sessions: ~3,300 signals, ~20 s on a 2-core machine (simulation ~14 s,
training ~2 s).

``--threshold`` is stored with the model and used by the live filter. Its default here is the
break-even hit rate of the configured bracket plus a 2-point cost margin, ``1 / (1 + target R) + 0.02``
(0.353 for 2 R), not DESIGN's 0.65: on simulated history the calibrated confidences stay low (the
simulator's signals reach their target ~12 % of the time, confidences top out near 0.4), so at 0.65
the demo would never trade. A model trained on simulated data is also advisory in the live cycle
(`mlfilter.inference.enforcing`): its verdict is shown on each signal but does not block orders.
Models trained on real data (`train_filter`, the daily retrain) use 0.65 and enforce it.

Idempotent: does nothing when any model version exists (``--force`` trains anyway). It runs from
``make run``'s setup, which it must never break: any failure prints one warning line and exits 0,
unless ``--strict`` (tests) makes it exit non-zero.
"""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand, CommandError

from mlfilter import jobs, services
from mlfilter.ml.ensemble import EnsembleConfig
from mlfilter.ml.training import BarSet, NotEnoughSamples, TrainConfig
from mlfilter.models import ModelVersion
from mlfilter.simulated import simulated_bars
from trading.models import RiskSettings

DEFAULT_DAYS = 20


def min_samples_for(days: float) -> int:
    return max(100, min(1000, int(100 * days)))


def breakeven_threshold() -> float:
    """The hit rate at which a bracket of stop 1 R and target `target_r` R breaks even, plus costs."""
    return round(1.0 / (1.0 + RiskSettings.load().target_r_multiple) + 0.02, 3)


class Command(BaseCommand):
    help = "Train and deploy a first ML filter model on simulated ES history when no model exists."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=float, default=DEFAULT_DAYS, help="simulated sessions (23 h each)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--threshold", type=float, default=None,
                            help="pass threshold stored with the model (default: the bracket's break-even + 0.02)")
        parser.add_argument("--force", action="store_true", help="train even when model versions exist")
        parser.add_argument("--strict", action="store_true", help="exit non-zero on failure")

    def handle(self, *args, **opts) -> None:
        # Setup runs before Redis is up: the dashboard cannot hear pushes yet, so do not warn about them.
        logging.getLogger("trading.push").setLevel(logging.ERROR)
        try:
            threshold = opts["threshold"] if opts["threshold"] is not None else breakeven_threshold()
            self._bootstrap(days=opts["days"], seed=opts["seed"], force=opts["force"], threshold=threshold)
        except Exception as exc:  # noqa: BLE001 - setup must go on without a model (signals pass unfiltered)
            line = " ".join(str(exc).split()) or type(exc).__name__
            if opts["strict"]:
                raise CommandError(f"ml_bootstrap failed: {line}") from exc
            self.stderr.write(f"warning: ml_bootstrap failed, no ML model yet: {line}")

    def _bootstrap(self, *, days: float, seed: int, force: bool, threshold: float) -> None:
        if not force and ModelVersion.objects.exists():
            self.stdout.write("ml_bootstrap: a model version exists; nothing to do (--force to train anyway)")
            return
        if days <= 0:
            raise ValueError(f"--days must be > 0, got {days}")
        started = time.perf_counter()
        bars = simulated_bars(days=days, seed=seed)
        simulated_s = time.perf_counter() - started
        config = TrainConfig(ensemble=EnsembleConfig(threshold=threshold), min_samples=min_samples_for(days),
                             folds=5 if days >= 5 else 3)
        run = services.start_run(source="bootstrap", message=f"simulating {days:g} sessions")
        try:
            row = jobs.train_and_register(sets=[BarSet(bars=bars, name=f"simulated ES seed {seed}")],
                                          config=config, source="bootstrap", trained_on="simulated", run=run,
                                          auto_deploy=False, push_progress=False)
        except Exception as exc:
            status = "skipped" if isinstance(exc, NotEnoughSamples) else "failed"
            services.finish_run(run=run, status=status, message=f"{status}: {exc}")
            raise
        if not ModelVersion.objects.filter(deployed=True).exists():
            row = services.deploy(version=row, actor_name="ml_bootstrap", reason="first model (simulated data)")
        total = time.perf_counter() - started
        auc = f"{row.auc:.3f}" if row.auc is not None else "n/a"
        self.stdout.write(f"ml_bootstrap: {row.version} trained on {len(bars)} simulated bars, {row.samples} "
                          f"signals, OOS AUC {auc}, {'deployed' if row.deployed else 'not deployed'} "
                          f"(simulation {simulated_s:.1f} s, total {total:.1f} s)")
