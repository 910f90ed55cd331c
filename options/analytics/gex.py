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
    return _gex_profile_arrays(
        contracts["strike"].to_numpy(), contracts["is_call"].to_numpy(dtype=bool), np.asarray(gex)
    )


def _group_sums(keys: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Sorted distinct keys and the per-key sums of each value array, like
    ``groupby(key, sort=True).sum()`` (NaN/NaT keys dropped, NaN values count as 0) without building
    a frame. Plain (not Kahan) summation, so sums can differ from pandas' in the last bits."""
    codes, uniq = pd.factorize(keys, sort=True)
    keep = codes >= 0
    if not keep.all():
        codes, values = codes[keep], tuple(v[keep] for v in values)
    sums = [np.bincount(codes, weights=np.nan_to_num(v, nan=0.0), minlength=len(uniq)) for v in values]
    return uniq, sums


def _gex_profile_arrays(strike: np.ndarray, is_call: np.ndarray, gex: np.ndarray) -> pd.DataFrame:
    g = gex / 1e9
    zero = np.zeros_like(g)
    uniq, (call, put) = _group_sums(strike, np.where(is_call, g, zero), np.where(is_call, zero, g))
    return pd.DataFrame({"strike": uniq, "call_gex_bn": call, "put_gex_bn": put, "total_gex_bn": call + put})


def gex_by_expiry(contracts: pd.DataFrame, gex: np.ndarray) -> pd.DataFrame:
    """Net and absolute GEX per expiry date in $bn (ascending expiry)."""
    return _gex_by_expiry_arrays(contracts["expiry"].to_numpy(), np.asarray(gex))


def _gex_by_expiry_arrays(expiry: np.ndarray, gex: np.ndarray) -> pd.DataFrame:
    g = gex / 1e9
    uniq, (net, gross) = _group_sums(expiry, g, np.abs(g))
    return pd.DataFrame({"expiry": uniq, "gex_bn": net, "abs_gex_bn": gross})


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
        """Sum of weight x gamma at each spot (weights already carry sign, OI and multipliers).

        The row sums are plain numpy reductions, not a BLAS matrix-vector product: OpenBLAS
        threads a gemv of this size, and on a busy 2-core host waking its threads cost more than
        the whole product (the single-spot brentq evaluations went from 0.03 ms to 10+ ms). Each
        spot's value depends only on that spot, so any subset of a grid gives the same numbers.
        """
        spots = np.atleast_1d(np.asarray(spots, dtype=np.float64))
        if self.size == 0:
            return np.zeros_like(spots)
        out = np.empty_like(spots)
        chunk = max(1, 400_000 // self.size)  # keep the temporaries cache-sized
        for start in range(0, len(spots), chunk):
            s = spots[start : start + chunk]
            d1 = np.multiply.outer(np.log(s), self.c)
            d1 += self.b
            d1 *= d1
            d1 *= -0.5
            np.exp(d1, out=d1)
            d1 *= self.a
            np.divide(d1.sum(axis=1), s, out=out[start : start + chunk])
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
    return _flip_on_grid(matrix, grid, spot)


def _flip_on_grid(matrix: _GammaMatrix, grid: np.ndarray, spot: float) -> float | None:
    """The flip nearest to ``spot`` on ``grid``, evaluating the grid outwards from spot.

    Same answer as evaluating the whole grid and then picking (a) the sign-change cell whose
    midpoint is nearest to spot (lowest index on ties), refined by brentq, or (b) a grid point where
    the total is exactly 0 if that is at least as near. The grid is evaluated in windows growing
    around spot and stops once no unevaluated cell or point could be nearer than the answer, so a
    flip close to spot (the usual case) costs a fraction of the grid; with no flip in range it costs
    the full grid, as before.
    """
    n = len(grid)
    values = np.empty(n)
    center = int(np.clip(np.searchsorted(grid, spot), 0, n - 1))
    left = right = center  # evaluated points are grid[left:right]
    step = 16
    mid_dist = np.abs(0.5 * (grid[:-1] + grid[1:]) - spot)  # per cell j = (grid[j], grid[j+1])
    point_dist = np.abs(grid - spot)
    j: int | None = None
    while True:
        new_left, new_right = max(0, left - step), min(n, right + step)
        if new_left < left:
            values[new_left:left] = matrix.total(grid[new_left:left])
        if new_right > right:
            values[right:new_right] = matrix.total(grid[right:new_right])
        left, right = new_left, new_right
        step *= 2
        sgn = np.sign(values[left:right])
        idx = np.flatnonzero(sgn[:-1] * sgn[1:] < 0) + left
        if idx.size:
            j = int(idx[np.argmin(mid_dist[idx])])
            d = mid_dist[j]
            # unevaluated cells are j <= left - 1 and j >= right - 1; all must be farther than d
            done_left = left == 0 or mid_dist[left - 1] > d
            done_right = right == n or mid_dist[right - 1] > d
            if done_left and done_right:
                break
        if left == 0 and right == n:
            break
    candidates_root: list[float] = []
    if j is not None:
        root = brentq(lambda s: float(matrix.total(np.array([s]))[0]), grid[j], grid[j + 1], xtol=1e-6 * spot)
        candidates_root.append(float(root))
        reach = abs(candidates_root[0] - spot)
        # an exact zero ties or beats the root only within its distance: make sure those are evaluated
        while (left > 0 and point_dist[left - 1] <= reach) or (right < n and point_dist[right] <= reach):
            new_left, new_right = max(0, left - step), min(n, right + step)
            if new_left < left:
                values[new_left:left] = matrix.total(grid[new_left:left])
            if new_right > right:
                values[right:new_right] = matrix.total(grid[right:new_right])
            left, right = new_left, new_right
    exact = np.flatnonzero(values[left:right] == 0) + left
    candidates = [float(grid[i]) for i in exact] + candidates_root
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
    return _put_call_ratios_arrays(
        contracts["is_call"].to_numpy(dtype=bool),
        contracts["open_interest"].to_numpy(dtype=np.float64),
        contracts["volume"].to_numpy(dtype=np.float64),
    )


def _put_call_ratios_arrays(
    is_call: np.ndarray, open_interest: np.ndarray, volume: np.ndarray
) -> tuple[float | None, float | None]:
    out: list[float | None] = []
    for col in (open_interest, volume):
        v = np.nan_to_num(col)
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
