"""Dealer gamma exposure (GEX): per contract, by strike and expiry, the gamma flip, walls and bias.

GEX of one contract = gamma x OI x 100 x S^2 x 0.01, in $ of underlying dealers must trade per 1 %
move, signed by the dealer convention (``config.SIGN_CONVENTIONS``; "classic": calls +, puts -).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from options.analytics.config import SIGN_CONVENTIONS, AnalysisConfig

__all__ = [
    "contract_gex",
    "dealer_bias_score",
    "gamma_flip",
    "gex_by_expiry",
    "gex_profile",
    "model_gex_at",
    "put_call_ratios",
    "walls",
]

CONTRACT_MULTIPLIER = 100.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def signs(is_call: np.ndarray, convention: str = "classic") -> np.ndarray:
    """+1 / -1 per contract for the dealer sign convention."""
    call_sign, put_sign = SIGN_CONVENTIONS[convention]
    return np.where(np.asarray(is_call, dtype=bool), call_sign, put_sign)


def contract_gex(
    gamma: np.ndarray,
    open_interest: np.ndarray,
    spot: float,
    is_call: np.ndarray,
    convention: str = "classic",
) -> np.ndarray:
    """Signed $ GEX per 1 % move of each contract; NaN gamma counts as 0 (no model, no exposure)."""
    g = np.nan_to_num(np.asarray(gamma, dtype=np.float64), nan=0.0)
    return signs(is_call, convention) * g * open_interest * CONTRACT_MULTIPLIER * spot * spot * 0.01


def gex_profile(contracts: pd.DataFrame, gex: np.ndarray) -> pd.DataFrame:
    """GEX per strike in $bn: columns strike, call_gex_bn, put_gex_bn, total_gex_bn (ascending strike)."""
    frame = pd.DataFrame(
        {
            "strike": contracts["strike"].to_numpy(),
            "is_call": contracts["is_call"].to_numpy(),
            "gex": np.asarray(gex) / 1e9,
        }
    )
    call = frame["gex"].where(frame["is_call"], 0.0)
    put = frame["gex"].where(~frame["is_call"], 0.0)
    out = pd.DataFrame({"strike": frame["strike"], "call_gex_bn": call, "put_gex_bn": put})
    out = out.groupby("strike", sort=True, as_index=False).sum()
    out["total_gex_bn"] = out["call_gex_bn"] + out["put_gex_bn"]
    return out


def gex_by_expiry(contracts: pd.DataFrame, gex: np.ndarray) -> pd.DataFrame:
    """Net and absolute GEX per expiry date in $bn (ascending expiry)."""
    frame = pd.DataFrame({"expiry": contracts["expiry"].to_numpy(), "gex_bn": np.asarray(gex) / 1e9})
    frame["abs_gex_bn"] = frame["gex_bn"].abs()
    return frame.groupby("expiry", sort=True, as_index=False).sum()


class _GammaMatrix:
    """Pre-factored Black-Scholes gamma of many contracts, for evaluating total GEX at many spots.

    gamma_i(s) = e^(-q T) phi(d1) / (s sigma sqrt T) with d1 = c_i ln s + b_i, so the sum over
    contracts is (1/s) * sum_i a_i phi(c_i ln s + b_i): one outer product and one matrix-vector
    product for the whole grid x chain, no Python loop over contracts.
    """

    def __init__(
        self, strike: np.ndarray, t: np.ndarray, sigma: np.ndarray, weight: np.ndarray, r: float, q: float
    ) -> None:
        ok = np.isfinite(t) & (t > 0) & np.isfinite(sigma) & (sigma > 0) & (weight != 0) & (strike > 0)
        vol_t = sigma[ok] * np.sqrt(t[ok])
        self.c = 1.0 / vol_t
        self.b = (-np.log(strike[ok]) + (r - q + 0.5 * sigma[ok] ** 2) * t[ok]) / vol_t
        self.a = weight[ok] * np.exp(-q * t[ok]) / vol_t * _INV_SQRT_2PI
        self.size = int(ok.sum())

    def total(self, spots: np.ndarray) -> np.ndarray:
        """Sum of weight x gamma at each spot (weights already carry sign, OI and multipliers)."""
        spots = np.atleast_1d(np.asarray(spots, dtype=np.float64))
        if self.size == 0:
            return np.zeros_like(spots)
        out = np.empty_like(spots)
        chunk = max(1, 400_000 // self.size)  # keep the temporaries cache-sized
        for start in range(0, len(spots), chunk):
            s = spots[start : start + chunk]
            d1 = np.log(s)[:, None] * self.c + self.b
            d1 *= d1
            d1 *= -0.5
            np.exp(d1, out=d1)
            out[start : start + chunk] = (d1 @ self.a) / s
        return out


def model_gex_at(
    spots: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    sigma: np.ndarray,
    open_interest: np.ndarray,
    is_call: np.ndarray,
    *,
    rate: float = 0.0,
    dividend_yield: float = 0.0,
    convention: str = "classic",
) -> np.ndarray:
    """Total model GEX in $bn per 1 % move if the underlying were at each of ``spots``."""
    weight = signs(is_call, convention) * open_interest * CONTRACT_MULTIPLIER * 0.01
    spots = np.atleast_1d(np.asarray(spots, dtype=np.float64))
    matrix = _GammaMatrix(strike, t, sigma, weight, rate, dividend_yield)
    return matrix.total(spots) * spots * spots / 1e9


def gamma_flip(
    spot: float,
    strike: np.ndarray,
    t: np.ndarray,
    sigma: np.ndarray,
    open_interest: np.ndarray,
    is_call: np.ndarray,
    config: AnalysisConfig | None = None,
) -> float | None:
    """Spot level where total model GEX changes sign (the "zero gamma" level), or None.

    A grid over ``config.flip_range`` x spot finds every sign change at once; the one nearest to the
    current spot is refined with brentq (the reference method interpolates linearly instead, which
    is why our flip can differ from theirs by a few points). The S^2 factor cannot change the sign,
    so only sum(weight x gamma) is searched.
    """
    cfg = config or AnalysisConfig()
    weight = signs(is_call, cfg.sign_convention) * open_interest
    matrix = _GammaMatrix(strike, t, sigma, weight, cfg.rate, cfg.dividend_yield)
    if matrix.size == 0:
        return None
    lo, hi = cfg.flip_range
    grid = np.linspace(lo * spot, hi * spot, cfg.flip_grid_points)
    values = matrix.total(grid)
    sgn = np.sign(values)
    idx = np.flatnonzero(sgn[:-1] * sgn[1:] < 0)
    exact = np.flatnonzero(sgn == 0)
    candidates = [float(grid[i]) for i in exact]
    if idx.size:
        j = idx[np.argmin(np.abs(0.5 * (grid[idx] + grid[idx + 1]) - spot))]
        root = brentq(lambda s: float(matrix.total(np.array([s]))[0]), grid[j], grid[j + 1], xtol=1e-6 * spot)
        candidates.append(float(root))
    if not candidates:
        return None
    return min(candidates, key=lambda s: abs(s - spot))


def walls(profile: pd.DataFrame) -> tuple[float | None, float | None]:
    """(call wall, put wall): strikes with the largest call GEX and the largest |put GEX|."""
    if profile.empty:
        return None, None
    call = profile["call_gex_bn"].abs().to_numpy()
    put = profile["put_gex_bn"].abs().to_numpy()
    strikes = profile["strike"].to_numpy()
    call_wall = float(strikes[np.argmax(call)]) if call.max() > 0 else None
    put_wall = float(strikes[np.argmax(put)]) if put.max() > 0 else None
    return call_wall, put_wall


def put_call_ratios(contracts: pd.DataFrame) -> tuple[float | None, float | None]:
    """(put/call by open interest, put/call by volume); None when the call side is zero."""
    is_call = contracts["is_call"].to_numpy()
    out: list[float | None] = []
    for col in ("open_interest", "volume"):
        v = np.nan_to_num(contracts[col].to_numpy(dtype=np.float64))
        calls, puts = v[is_call].sum(), v[~is_call].sum()
        out.append(float(puts / calls) if calls > 0 else None)
    return out[0], out[1]


def dealer_bias_score(
    *,
    spot: float,
    flip: float | None,
    net_gex_bn: float,
    gross_gex_bn: float,
    call_wall: float | None,
    put_wall: float | None,
    pcr_oi: float | None,
    vix: float | None = None,
    config: AnalysisConfig | None = None,
) -> tuple[float, dict[str, float]]:
    """Dealer's-bias score in [0, 1] for the confluence engine (0.5 neutral, > 0.5 bullish ES).

    score = 0.5 + 0.5 x sum_k w_k c_k / sum_k w_k over the available components c_k in [-1, 1]:

    * flip  = tanh((spot - flip) / (1 % of spot)): above the flip dealers are long gamma and damp
      moves (supportive); below it they chase moves (fragile). Missing flip: component dropped.
    * gex   = net / gross model GEX (a scale-free [-1, 1]): the sign and relative size of dealer gamma.
    * walls = 1 - 2 x position of spot between put wall (support, +1) and call wall (resistance, -1),
      clipped; dropped when the walls are missing or inverted.
    * pcr   = -tanh(ln(pcr_oi / pcr_neutral)): heavy put open interest above the neutral level reads
      bearish.
    * vix   = -tanh((vix - vix_neutral) / 10), only when a VIX level is given.

    Weights come from ``config.bias_weights``; dropped components renormalise the rest, and with no
    component at all the score is exactly 0.5.
    """
    cfg = config or AnalysisConfig()
    comp: dict[str, float] = {}
    if flip is not None and spot > 0:
        comp["flip"] = math.tanh((spot - flip) / (0.01 * spot))
    if gross_gex_bn > 0:
        comp["gex"] = max(-1.0, min(1.0, net_gex_bn / gross_gex_bn))
    if call_wall is not None and put_wall is not None and call_wall > put_wall:
        pos = min(max((spot - put_wall) / (call_wall - put_wall), 0.0), 1.0)
        comp["walls"] = 1.0 - 2.0 * pos
    if pcr_oi is not None and pcr_oi > 0:
        comp["pcr"] = -math.tanh(math.log(pcr_oi / cfg.pcr_neutral))
    if vix is not None and math.isfinite(vix):
        comp["vix"] = -math.tanh((vix - cfg.vix_neutral) / 10.0)
    weights = {k: cfg.bias_weights.get(k, 0.0) for k in comp}
    total_w = sum(weights.values())
    if total_w <= 0:
        return 0.5, comp
    score = 0.5 + 0.5 * sum(weights[k] * comp[k] for k in comp) / total_w
    return min(max(score, 0.0), 1.0), comp
