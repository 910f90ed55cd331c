"""options_chain_ms benchmark shape (the timing itself is reported, not asserted)."""

from __future__ import annotations

from bench.options import bench_options_chain
from tests.options._data import data_file


def test_bench_options_chain_reports_the_contract_fields():
    out = bench_options_chain(data_file("options/spx_quotedata_2022-07-12_nickkxsper.csv"), runs=1)
    assert out["name"] == "options_chain_ms" and out["unit"] == "ms" and out["target"] == 50
    assert out["better"] == "lower" and out["value"] > 0
    assert out["detail"]["contracts"] == 19378
