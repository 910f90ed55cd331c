"""One call from a chain to everything the dashboard, the confluence engine and the CLI show.

``analyze`` prices the chain once (Black-Scholes with the file's IVs), then derives GEX, the flip,
walls, put/call ratios, the dealer's-bias score and the gamma-cycle block from those arrays.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from options.analytics.chain import Chain
from options.analytics.config import AnalysisConfig
from options.analytics.cycles import gamma_cycles
from options.analytics.expiry import _am_settled, _instants, _years_from_instants
from options.analytics.gex import (
    _gex_by_expiry_arrays,
    _gex_profile_arrays,
    _put_call_ratios_arrays,
    contract_gex,
    dealer_bias_score,
    gamma_flip,
    walls,
)
from options.analytics.greeks import black_scholes

__all__ = ["SnapshotResult", "analyze"]


@dataclass
class SnapshotResult:
    """Result of :func:`analyze`. Money in $bn per 1 % move of the underlying.

    ``valid`` is False when the chain cannot support a bias (no contracts, bad spot, or no live
    contract with IV and open interest); then ``dealer_bias_score`` is exactly 0.5 and ``errors``
    says why, so a half-parsed chain can never push the confluence score.
    """

    underlying: str
    spot: float
    asof: dt.datetime
    contracts: int
    valid: bool
    errors: list[str] = field(default_factory=list)
    total_gex_bn: float | None = None
    total_gex_model_bn: float | None = None
    gamma_flip: float | None = None
    call_wall: float | None = None
    put_wall: float | None = None
    pcr_oi: float | None = None
    pcr_volume: float | None = None
    dealer_bias_score: float = 0.5
    bias_components: dict[str, float] = field(default_factory=dict)
    live_contracts: int = 0
    expired_contracts: int = 0
    zero_iv_contracts: int = 0
    profile: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_expiry: pd.DataFrame = field(default_factory=pd.DataFrame)
    cycles: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the CLI contract keys first, then profile/cycles and diagnostics."""
        profile = [{k: _num(v) for k, v in row.items()} for row in self.profile.to_dict("records")]
        by_expiry = [
            {
                "expiry": pd.Timestamp(r["expiry"]).date().isoformat(),
                "gex_bn": _num(r["gex_bn"]),
                "abs_gex_bn": _num(r["abs_gex_bn"]),
            }
            for r in self.by_expiry.to_dict("records")
        ]
        return {
            "underlying": self.underlying,
            "spot": _num(self.spot),
            "asof": self.asof.isoformat(),
            "contracts": self.contracts,
            "total_gex_bn": _num(self.total_gex_bn),
            "total_gex_model_bn": _num(self.total_gex_model_bn),
            "gamma_flip": _num(self.gamma_flip),
            "call_wall": _num(self.call_wall),
            "put_wall": _num(self.put_wall),
            "pcr_oi": _num(self.pcr_oi),
            "pcr_volume": _num(self.pcr_volume),
            "dealer_bias_score": _num(self.dealer_bias_score),
            "valid": self.valid,
            "errors": list(self.errors),
            "bias_components": {k: _num(v) for k, v in self.bias_components.items()},
            "live_contracts": self.live_contracts,
            "expired_contracts": self.expired_contracts,
            "zero_iv_contracts": self.zero_iv_contracts,
            "profile": profile,
            "by_expiry": by_expiry,
            "cycles": _jsonable(self.cycles),
        }


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, bool | str | int) or obj is None:
        return obj
    if isinstance(obj, float | np.floating):
        return _num(obj)
    return obj


def analyze(
    chain: Chain, *, vix: float | None = None, config: AnalysisConfig | None = None
) -> SnapshotResult:
    """Analyse a chain: GEX (file and model), gamma flip, walls, put/call ratios, bias and cycles.

    Model greeks use Black-Scholes at the chain's spot with each contract's own IV and the
    ``options.analytics.expiry`` time convention. Expired and zero-IV contracts keep their rows and
    their file-gamma GEX (``total_gex_bn`` is the plain file sum, as in the reference method) but
    get no model greeks, so they do not enter ``total_gex_model_bn``, the flip, walls or profile.
    Put/call ratios count live (unexpired) contracts only.
    """
    cfg = config or AnalysisConfig()
    df = chain.contracts
    result = SnapshotResult(
        underlying=chain.underlying, spot=chain.spot, asof=chain.asof, contracts=len(df), valid=False
    )
    if len(df) == 0:
        result.errors.append("chain has no contracts")
        return result
    if not (math.isfinite(chain.spot) and chain.spot > 0):
        result.errors.append(f"spot must be a positive number, got {chain.spot}")
        return result

    spot = float(chain.spot)
    strike = df["strike"].to_numpy(dtype=np.float64)
    is_call = df["is_call"].to_numpy(dtype=bool)
    oi = np.nan_to_num(df["open_interest"].to_numpy(dtype=np.float64))
    iv = df["iv"].to_numpy(dtype=np.float64)
    # expiry instants once (years_to_expiry would compute them again for days_left)
    expiry_days = df["expiry"].to_numpy(dtype="datetime64[D]")
    instants = _instants(expiry_days, _am_settled(df["root"]))
    t, expired = _years_from_instants(
        instants,
        expiry_days,
        chain.asof,
        min_t_years=cfg.min_t_years,
        convention=cfg.time_convention,
        busdays_per_year=cfg.busdays_per_year,
    )
    now = np.datetime64(chain.asof.replace(tzinfo=None), "s")  # asof is UTC (Chain invariant)
    days_left = (instants - now).astype(np.float64) / 86_400.0
    zero_iv = ~(np.isfinite(iv) & (iv > 0))
    model_ok = np.isfinite(t) & ~zero_iv
    t_model = np.where(model_ok, t, np.nan)
    greeks = black_scholes(
        spot, strike, t_model, cfg.rate, cfg.dividend_yield, np.where(model_ok, iv, np.nan), is_call
    )

    gex_file = contract_gex(df["gamma"].to_numpy(dtype=np.float64), oi, spot, is_call, cfg.sign_convention)
    gex_model = contract_gex(greeks.gamma, oi, spot, is_call, cfg.sign_convention)
    result.total_gex_bn = float(gex_file.sum() / 1e9)
    result.total_gex_model_bn = float(gex_model.sum() / 1e9)
    result.live_contracts = int((~expired).sum())
    result.expired_contracts = int(expired.sum())
    result.zero_iv_contracts = int((zero_iv & ~expired).sum())

    live = ~expired
    pcr_oi, pcr_vol = _put_call_ratios_arrays(
        is_call[live],
        df["open_interest"].to_numpy(dtype=np.float64)[live],
        df["volume"].to_numpy(dtype=np.float64)[live],
    )
    result.pcr_oi, result.pcr_volume = pcr_oi, pcr_vol
    if not (model_ok & (oi > 0)).any():
        result.errors.append("no live contract with positive IV and open interest")
        return result

    result.gamma_flip = gamma_flip(spot, strike, t_model, iv, oi, is_call, cfg)
    profile = _gex_profile_arrays(strike[model_ok], is_call[model_ok], gex_model[model_ok])
    result.call_wall, result.put_wall = walls(profile)
    lo, hi = cfg.flip_range
    window = (profile["strike"] >= lo * spot) & (profile["strike"] <= hi * spot)
    result.profile = profile.loc[window].reset_index(drop=True)
    result.by_expiry = _gex_by_expiry_arrays(df["expiry"].to_numpy()[model_ok], gex_model[model_ok])
    gross = float(np.abs(gex_model).sum() / 1e9)
    result.dealer_bias_score, result.bias_components = dealer_bias_score(
        spot=spot,
        flip=result.gamma_flip,
        net_gex_bn=result.total_gex_model_bn,
        gross_gex_bn=gross,
        call_wall=result.call_wall,
        put_wall=result.put_wall,
        pcr_oi=pcr_oi,
        vix=vix,
        config=cfg,
    )
    result.cycles = gamma_cycles(
        df,
        spot=spot,
        asof=chain.asof,
        live=model_ok,
        days_left=days_left,
        model_delta=greeks.delta,
        abs_gex=np.abs(gex_model),
        nearest=cfg.nearest_expiries,
        pin_window=cfg.pin_window,
    )
    result.valid = True
    return result
