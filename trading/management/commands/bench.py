"""`manage.py bench [--only NAME,...] [--json OUT]`: speed and memory on the real data (DESIGN §5).

Prints a JSON list of {"name", "value", "unit", "target", "better", "detail"}. Benchmarks live next
to the code they measure; this command only finds the data and collects their results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def shared_data() -> Path:
    return Path(os.environ.get("MIA_SHARED_DATA", settings.BASE_DIR.parent / "shared" / "data"))


def _registry(data: Path) -> dict[str, Callable[[], dict]]:
    """Benchmark name -> callable, in the order `make bench` runs them."""
    from mlfilter.ml import benchmarks as ml_bench
    from options import benchmarks as options_bench
    from trading import web_bench
    from trading.engine import backtest_bench, ingest_bench
    from trading.engine import benchmarks as engine_bench

    ticks = data / "es" / "es_ticks_2011-07-31_mlfinlab_imbalance_sample_data.csv"
    minute = data / "es" / "es_1min_frontmonth_lean_DERIVED.csv"
    chain = data / "options" / "spx_quotedata_2022-07-12_nickkxsper.csv"
    return {
        "ingest_ticks_per_s": lambda: ingest_bench.bench_ingest(ticks),
        "features_batch_bars_per_s": lambda: engine_bench.bench_features_batch(minute),
        "engine_bar_p99_us": lambda: engine_bench.bench_engine_bar_p99(minute),
        "backtest_confluence_bars_per_s": lambda: backtest_bench.bench_backtest_confluence(minute),
        "backtest_sma_bars_per_s": lambda: backtest_bench.bench_backtest_sma(minute),
        "backtest_1m_bars_peak_mib": lambda: backtest_bench.bench_backtest_peak_mib(minute),
        "options_chain_ms": lambda: options_bench.bench_options_chain(chain),
        "ml_inference_p99_ms": lambda: ml_bench.bench_ml_inference(minute),
        "ml_training_s": lambda: ml_bench.bench_ml_training(minute),
        "dashboard_first_load_ms": lambda: web_bench.run_isolated("dashboard"),
        "ws_p99_latency_ms": lambda: web_bench.run_isolated("websocket"),
    }


class Command(BaseCommand):
    help = "Run the benchmarks on the real data in ../shared/data and print JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--only", default="", help="comma-separated benchmark names")
        parser.add_argument("--json", dest="out", type=Path, default=None, help="also write the JSON here")

    def handle(self, *args, only: str, out: Path | None, **options) -> None:
        data = shared_data()
        if not data.is_dir():
            raise CommandError(f"real data not found at {data} (set MIA_SHARED_DATA)")
        benches = _registry(data)
        wanted = [name.strip() for name in only.split(",") if name.strip()] or list(benches)
        unknown = [name for name in wanted if name not in benches]
        if unknown:
            raise CommandError(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(benches)}")
        results = []
        for name in wanted:
            self.stderr.write(f"bench {name} ...")
            results.append(benches[name]())
        text = json.dumps(results, indent=1)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
        self.stdout.write(text)
