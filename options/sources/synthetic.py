"""Synthetic SPX / NDX option chains for the simulated demo (no market data needed).

The chain follows the ES price the simulator produces, so the dealer's-bias levels drawn over the
demo chart move with it. It is deliberately shaped like a real CBOE download so it exercises the
same ``analyze()`` path: put skew (higher IV at low strikes), an upward ATM term structure, open
interest concentrated at round strikes (multiples of 50 and 100) and on monthlies, expiries
including a 0-DTE (when ``asof`` is before today's close), dailies, weeklies and monthlies, and
roughly 10,000 contracts for SPX.

Spot: SPX = ES - ``basis`` (ES trades above cash by carry minus dividends, ~15 points mid-quarter);
NDX = SPX x ``ndx_ratio`` (a level ratio, not a hedge ratio: close enough for a demo).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from options.analytics.chain import CONTRACT_COLUMNS, Chain
from options.analytics.expiry import NEW_YORK, third_friday, years_to_expiry
from options.analytics.greeks import black_scholes

__all__ = ["SyntheticChainSource", "synthetic_chain"]

_SPECS = {  # underlying: (weekly root, monthly root, fine step, coarse step, base OI)
    "SPX": ("SPXW", "SPX", 5.0, 25.0, 600.0),
    "NDX": ("NDXP", "NDX", 25.0, 100.0, 25.0),
}


@dataclass(frozen=True)
class SyntheticChainSource:
    """A :class:`options.sources.ChainSource` over :func:`synthetic_chain` (fixed inputs)."""

    es_price: float
    asof: dt.datetime
    underlying: str = "SPX"
    basis: float = 15.0
    ndx_ratio: float = 3.5
    seed: int = 0

    def fetch(self) -> Chain:
        """Build the chain for the configured ES price and time."""
        return synthetic_chain(
            self.es_price,
            self.asof,
            underlying=self.underlying,
            basis=self.basis,
            ndx_ratio=self.ndx_ratio,
            seed=self.seed,
        )


def _expiries(today: dt.date, after_close: bool) -> list[tuple[dt.date, bool]]:
    """(date, is_monthly) for dailies (5 sessions), Friday weeklies (8) and monthlies (12)."""
    out: dict[dt.date, bool] = {}
    day = today + dt.timedelta(days=1) if after_close else today
    dailies = 0
    while dailies < 5:
        if day.weekday() < 5:
            out[day] = False
            dailies += 1
        day += dt.timedelta(days=1)
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7)
    for w in range(8):
        d = friday + dt.timedelta(weeks=w)
        if d > today or not after_close:
            out.setdefault(d, False)
    year, month = today.year, today.month
    for _ in range(13):
        d = third_friday(year, month)
        if d > today or (d == today and not after_close):
            out[d] = True
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return sorted(out.items())[:40]


def synthetic_chain(
    es_price: float,
    asof: dt.datetime,
    *,
    underlying: str = "SPX",
    basis: float = 15.0,
    ndx_ratio: float = 3.5,
    seed: int = 0,
) -> Chain:
    """A reproducible synthetic chain (same inputs and seed give the same chain)."""
    if underlying not in _SPECS:
        raise ValueError(f"synthetic chains exist for {sorted(_SPECS)}, not {underlying!r}")
    if asof.tzinfo is None:
        raise ValueError("asof must be timezone-aware")
    rng = np.random.default_rng(seed)
    weekly_root, monthly_root, fine, coarse, base_oi = _SPECS[underlying]
    spx = es_price - basis
    spot = spx * ndx_ratio if underlying == "NDX" else spx
    local = asof.astimezone(NEW_YORK)
    after_close = local.time() >= dt.time(16, 0) or local.weekday() >= 5
    vol_level = (
        0.15 + 0.02 * rng.standard_normal() if underlying == "SPX" else 0.20 + 0.02 * rng.standard_normal()
    )
    vol_level = float(np.clip(vol_level, 0.09, 0.35))
    call_tilt = float(rng.uniform(0.9, 1.6))

    frames = []
    for expiry, monthly in _expiries(local.date(), after_close):
        days = max((expiry - local.date()).days, 0) + 0.3
        t = days / 365.0
        width = 0.05 + 0.25 * min(np.sqrt(t), 1.0)  # strike range grows with maturity
        lo, hi = spot * (1 - 2 * width), spot * (1 + width)
        strikes = np.unique(
            np.concatenate(
                [
                    np.arange(np.ceil(lo / coarse) * coarse, hi, coarse),
                    np.arange(np.ceil(spot * (1 - width / 2) / fine) * fine, spot * (1 + width / 3), fine),
                ]
            )
        )
        n = strikes.size
        x = np.log(strikes / spot)
        atm = vol_level + 0.03 * np.sqrt(t) + (0.03 if days < 1 else 0.0)
        z = x / (atm * np.sqrt(max(t, 1 / 365)))
        iv = np.clip(atm * (1 - 0.10 * z + 0.012 * z * z), 0.5 * atm, 4 * atm)
        roundness = np.where(strikes % 100 == 0, 4.0, np.where(strikes % 50 == 0, 2.0, 0.6))
        if underlying == "NDX":
            roundness = np.where(strikes % 500 == 0, 4.0, np.where(strikes % 250 == 0, 2.0, 0.6))
        spread = np.exp(-0.5 * (x / (0.03 + 0.12 * np.sqrt(t))) ** 2)
        scale = base_oi * (3.0 if monthly else 1.0) * (0.4 if days < 1 else 1.0)
        noise = rng.lognormal(0.0, 0.5, size=(2, n))
        # Calls sit mostly above spot (overwriting), puts below (hedges, heavier far out of the money);
        # call_tilt sets the regime, so different seeds give positive and negative net GEX.
        call_oi = np.floor(call_tilt * scale * spread * roundness * noise[0] * np.where(x > -0.01, 1.0, 0.25))
        put_oi = np.floor(
            scale * spread * roundness * noise[1] * np.where(x < 0.01, np.where(x < -0.03, 1.8, 1.0), 0.25)
        )
        root = monthly_root if monthly else weekly_root
        for is_call, oi in ((True, call_oi), (False, put_oi)):
            frames.append(
                pd.DataFrame(
                    {
                        "symbol": [
                            f"{root}{expiry:%y%m%d}{'C' if is_call else 'P'}{int(k * 1000):08d}"
                            for k in strikes
                        ],
                        "root": root,
                        "expiry": np.datetime64(expiry, "s"),
                        "strike": strikes,
                        "is_call": is_call,
                        "iv": iv,
                        "open_interest": oi,
                        "volume": np.floor(oi * rng.uniform(0.05, 0.6, n) * (3.0 if days < 2 else 1.0)),
                    }
                )
            )
    contracts = pd.concat(frames, ignore_index=True)
    t_years, _ = years_to_expiry(contracts, asof)
    g = black_scholes(spot, contracts["strike"], t_years, 0.0, 0.0, contracts["iv"], contracts["is_call"])
    price = np.nan_to_num(g.price)
    half_spread = np.maximum(0.05, 0.02 * price)
    contracts["bid"] = np.round(np.maximum(price - half_spread, 0.0), 2)
    contracts["ask"] = np.round(price + half_spread, 2)
    contracts["last"] = np.round(price, 2)
    contracts["delta"] = np.round(np.nan_to_num(g.delta), 4)
    contracts["gamma"] = np.round(np.nan_to_num(g.gamma), 6)
    contracts["line"] = 0
    contracts = contracts[list(CONTRACT_COLUMNS)].astype(CONTRACT_COLUMNS)
    return Chain(underlying=underlying, spot=round(float(spot), 2), asof=asof, contracts=contracts)
