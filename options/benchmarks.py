"""``options_chain_ms`` benchmark (DESIGN.md section 5): parse + greeks + GEX + flip of a real chain.

``detail`` also prices the same chain one contract at a time with QuantLib (a test-only dependency,
skipped when absent) so the gain from vectorizing is visible next to the number.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np

from options.analytics.greeks import black_scholes
from options.analytics.snapshot import analyze
from options.sources.cboe import parse_cboe

__all__ = ["bench_options_chain"]


def _reference_loop_ms(chain_path: str | os.PathLike[str], limit: int | None = None) -> dict[str, Any]:
    """Per-contract QuantLib pricing (price, delta, gamma) of the same live contracts, in ms."""
    try:
        import QuantLib as ql  # noqa: N813 - the library's own spelling
    except ImportError:
        return {"reference": "QuantLib not installed"}
    from options.analytics.expiry import years_to_expiry

    chain = parse_cboe(chain_path).chain
    df = chain.contracts
    t, _ = years_to_expiry(df, chain.asof)
    iv = df["iv"].to_numpy()
    ok = np.isfinite(t) & (iv > 0)
    idx = np.flatnonzero(ok)[:limit]
    strikes, calls = df["strike"].to_numpy(), df["is_call"].to_numpy()
    start = time.perf_counter()
    for i in idx:
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if calls[i] else ql.Option.Put, float(strikes[i]))
        calc = ql.BlackCalculator(payoff, chain.spot, float(iv[i] * np.sqrt(t[i])), 1.0)
        calc.value()
        calc.delta(chain.spot)
        calc.gamma(chain.spot)
    elapsed = (time.perf_counter() - start) * 1000.0
    start = time.perf_counter()
    black_scholes(chain.spot, strikes[idx], t[idx], 0.0, 0.0, iv[idx], calls[idx])
    vectorized = (time.perf_counter() - start) * 1000.0
    return {
        "reference": f"QuantLib {ql.__version__} BlackCalculator, one contract at a time",
        "reference_contracts": int(idx.size),
        "reference_greeks_ms": round(elapsed, 2),
        "vectorized_greeks_ms": round(vectorized, 2),
        "ratio_reference_to_vectorized": round(elapsed / max(vectorized, 1e-6), 1),
    }


def bench_options_chain(path: str | os.PathLike[str], *, runs: int = 7) -> dict[str, Any]:
    """Median wall time of ``parse_cboe`` + ``analyze`` (greeks, GEX, flip, walls, cycles) on ``path``."""
    parse_ms: list[float] = []
    total_ms: list[float] = []
    result = None
    for _ in range(runs + 1):  # first run warms imports and caches; not counted
        t0 = time.perf_counter()
        chain = parse_cboe(path).chain
        t1 = time.perf_counter()
        result = analyze(chain)
        t2 = time.perf_counter()
        parse_ms.append((t1 - t0) * 1000.0)
        total_ms.append((t2 - t0) * 1000.0)
    parse_ms, total_ms = parse_ms[1:], total_ms[1:]
    assert result is not None
    detail: dict[str, Any] = {
        "file": os.path.basename(os.fspath(path)),
        "contracts": result.contracts,
        "runs": runs,
        "parse_ms_median": round(statistics.median(parse_ms), 2),
        "analyze_ms_median": round(statistics.median(total_ms) - statistics.median(parse_ms), 2),
        "gamma_flip": result.gamma_flip,
        "total_gex_bn": result.total_gex_bn,
    }
    detail.update(_reference_loop_ms(path))
    return {
        "name": "options_chain_ms",
        "value": round(statistics.median(total_ms), 2),
        "unit": "ms",
        "target": 50,
        "better": "lower",
        "detail": detail,
    }
