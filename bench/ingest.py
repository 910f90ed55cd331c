"""Gateway ingest benchmark: validation + bar building over the real ES tick file, in memory."""

from __future__ import annotations

import time
from pathlib import Path

from trading.engine.bars import BarBuilder
from trading.engine.tickfile import read_ticks
from trading.engine.ticks import TickValidator


def ingest(ticks: list, *, band_pct: float = 2.0) -> tuple[int, int, int]:
    """Run ticks through the gateway's pure path; returns (accepted, quarantined, bars)."""
    validator = TickValidator(band_pct=band_pct)
    builder = BarBuilder("ES")
    check, add = validator.check, builder.add
    accepted = quarantined = bars = 0
    for tick in ticks:
        if check(tick) is None:
            accepted += 1
            if add(tick) is not None:
                bars += 1
        else:
            quarantined += 1
    return accepted, quarantined, bars


def bench_ingest(path: Path, *, repeats: int = 30) -> dict:
    loaded = read_ticks(path)
    ticks = loaded.ticks
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        accepted, quarantined, bars = ingest(ticks)
        best = min(best, time.perf_counter() - started)
    return {"name": "ingest_ticks_per_s", "value": round(len(ticks) / best), "unit": "ticks/s",
            "target": 200_000, "better": "higher",
            "detail": f"{len(ticks)} real ES ticks ({path.name}), best of {repeats} runs; {accepted} accepted, "
                      f"{quarantined} quarantined, {bars} bars; one core, pure Python"}
