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

from options.analytics.config import AnalysisConfig
from options.analytics.expiry import years_to_expiry
from options.analytics.gex import contract_gex, gamma_flip
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


def _step_times(chain: Any, config: AnalysisConfig) -> tuple[float, float, float]:
    """(greeks, GEX, flip) wall times in ms, the steps the benchmark definition names, done the way
    ``analyze`` does them (same inputs, same functions)."""
    df = chain.contracts
    t0 = time.perf_counter()
    spot = float(chain.spot)
    strike = df["strike"].to_numpy(dtype=np.float64)
    is_call = df["is_call"].to_numpy(dtype=bool)
    oi = np.nan_to_num(df["open_interest"].to_numpy(dtype=np.float64))
    iv = df["iv"].to_numpy(dtype=np.float64)
    t, _ = years_to_expiry(
        df,
        chain.asof,
        min_t_years=config.min_t_years,
        convention=config.time_convention,
        busdays_per_year=config.busdays_per_year,
    )
    model_ok = np.isfinite(t) & np.isfinite(iv) & (iv > 0)
    t_model = np.where(model_ok, t, np.nan)
    greeks = black_scholes(
        spot, strike, t_model, config.rate, config.dividend_yield, np.where(model_ok, iv, np.nan), is_call
    )
    t1 = time.perf_counter()
    gex_file = contract_gex(df["gamma"].to_numpy(dtype=np.float64), oi, spot, is_call, config.sign_convention)
    gex_model = contract_gex(greeks.gamma, oi, spot, is_call, config.sign_convention)
    _ = (float(gex_file.sum()), float(gex_model.sum()))  # the totals analyze() reports
    t2 = time.perf_counter()
    gamma_flip(spot, strike, t_model, iv, oi, is_call, config)
    t3 = time.perf_counter()
    return (t1 - t0) * 1000.0, (t2 - t1) * 1000.0, (t3 - t2) * 1000.0


def bench_options_chain(path: str | os.PathLike[str], *, runs: int = 7) -> dict[str, Any]:
    """Median wall time of ``parse_cboe`` + ``analyze`` on ``path``.

    The value times more than the definition's "parse + greeks + GEX + flip": the full ``analyze()``
    (greeks, GEX, flip, walls, profile, put/call, bias, cycles) after the parse. ``detail`` also
    gives the best-of-runs time (the machine may be shared) and each named step on its own.
    """
    cfg = AnalysisConfig()
    parse_ms: list[float] = []
    analyze_ms: list[float] = []
    total_ms: list[float] = []
    steps: list[tuple[float, float, float]] = []
    result = None
    for _ in range(runs + 1):  # first run warms imports and caches; not counted
        t0 = time.perf_counter()
        chain = parse_cboe(path).chain
        t1 = time.perf_counter()
        result = analyze(chain, config=cfg)
        t2 = time.perf_counter()
        parse_ms.append((t1 - t0) * 1000.0)
        analyze_ms.append((t2 - t1) * 1000.0)
        total_ms.append((t2 - t0) * 1000.0)
        steps.append(_step_times(chain, cfg))
    parse_ms, analyze_ms, total_ms, steps = parse_ms[1:], analyze_ms[1:], total_ms[1:], steps[1:]
    assert result is not None
    greeks_ms, gex_ms, flip_ms = ([s[k] for s in steps] for k in range(3))
    four = [p + g + x + f for p, g, x, f in zip(parse_ms, greeks_ms, gex_ms, flip_ms, strict=True)]
    detail: dict[str, Any] = {
        "file": os.path.basename(os.fspath(path)),
        "contracts": result.contracts,
        "runs": runs,
        "timed": "value = parse_cboe + full analyze() (greeks, GEX, flip, walls, profile, pcr, bias, cycles)",
        "total_ms_best": round(min(total_ms), 2),
        "parse_ms_median": round(statistics.median(parse_ms), 2),
        "analyze_ms_median": round(statistics.median(analyze_ms), 2),
        "analyze_ms_best": round(min(analyze_ms), 2),
        "greeks_ms_median": round(statistics.median(greeks_ms), 2),
        "gex_ms_median": round(statistics.median(gex_ms), 2),
        "flip_ms_median": round(statistics.median(flip_ms), 2),
        "parse_greeks_gex_flip_ms_median": round(statistics.median(four), 2),
        "parse_greeks_gex_flip_ms_best": round(min(four), 2),
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
