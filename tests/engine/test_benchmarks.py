"""The bench helpers return DESIGN section 5 records (small sizes here; `manage.py bench` runs them full)."""

from __future__ import annotations

from bench.engine import bench_engine_bar_p99, bench_features_batch, tile_bars
from tests.engine._data import es_minute_file
from trading.engine.loaders import load_bars

KEYS = {"name", "value", "unit", "target", "better", "detail"}


def test_bench_records_have_the_contract_keys():
    batch = bench_features_batch(es_minute_file(), target_bars=50_000, repeat=1)
    assert set(batch) == KEYS and batch["name"] == "features_batch_bars_per_s" and batch["value"] > 0
    p99 = bench_engine_bar_p99(es_minute_file(), max_bars=2_000)
    assert set(p99) == KEYS and p99["name"] == "engine_bar_p99_us" and p99["better"] == "lower"


def test_tiling_keeps_the_index_increasing_and_unique():
    bars = tile_bars(load_bars(es_minute_file()).bars, 45_000)
    assert len(bars) == 45_000
    assert bars.index.is_monotonic_increasing and bars.index.is_unique
