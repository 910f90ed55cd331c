"""Benchmarks for `manage.py bench` (DESIGN §5 names and record format), kept out of the pure cores.

Each module measures one area on the real data in ../shared/data and returns
``{"name", "value", "unit", "target", "better", "detail"}``; ``registry`` lists them in the order
`make bench` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench import backtest, cli, engine, ingest, ml, options, web


def registry(data: Path) -> dict[str, Callable[[], dict]]:
    """Benchmark name -> callable, in the order `make bench` runs them."""
    ticks = data / "es" / "es_ticks_2011-07-31_mlfinlab_imbalance_sample_data.csv"
    minute = data / "es" / "es_1min_frontmonth_lean_DERIVED.csv"
    chain = data / "options" / "spx_quotedata_2022-07-12_nickkxsper.csv"
    return {
        "ingest_ticks_per_s": lambda: ingest.bench_ingest(ticks),
        "features_batch_bars_per_s": lambda: engine.bench_features_batch(minute),
        "engine_bar_p99_us": lambda: engine.bench_engine_bar_p99(minute),
        "backtest_confluence_bars_per_s": lambda: backtest.bench_backtest_confluence(minute),
        "backtest_sma_bars_per_s": lambda: backtest.bench_backtest_sma(minute),
        "backtest_1m_bars_peak_mib": lambda: backtest.bench_backtest_peak_mib(minute),
        "options_chain_ms": lambda: options.bench_options_chain(chain),
        "ml_inference_p99_ms": lambda: ml.bench_ml_inference(minute),
        "ml_training_s": lambda: ml.bench_ml_training(minute),
        "dashboard_first_load_ms": lambda: web.run_isolated("dashboard"),
        "ws_p99_latency_ms": lambda: web.run_isolated("websocket"),
        "killswitch_cli_s": cli.bench_killswitch_cli,
    }
