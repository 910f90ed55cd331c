"""Black-Scholes-Merton prices, greeks and implied volatility, vectorized over numpy arrays.

Everything here broadcasts: a whole chain (or a spot grid x contracts matrix) is priced in one call,
which is what keeps a 20,000-contract snapshot and its gamma-flip search inside a few milliseconds.

Conventions (plain partial derivatives, no per-1 % or per-day scaling, so callers scale explicitly):

* ``T`` is in years, ``r`` and ``q`` are continuously compounded rates, ``sigma`` is annualised.
* ``vega = dV/dsigma``; ``theta = dV/dt = -dV/dT`` per year; ``vanna = d2V/dS dsigma``;
  ``charm = d(delta)/dt = -d(delta)/dT`` per year.
* Where the model is undefined (``T <= 0``, ``sigma <= 0``, ``S <= 0`` or ``K <= 0``) every output is
  NaN: an expired or zero-IV contract has no model greeks, and a NaN makes that visible instead of
  silently contributing zero.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

__all__ = ["Greeks", "black_scholes", "bs_gamma", "implied_vol"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_SIGMA_MAX = 10.0  # 1000 % vol: above this a quote is an error, not a volatility
_SIGMA_MIN = 1e-9


class Greeks(NamedTuple):
    """Black-Scholes-Merton value and first/second-order sensitivities (see module docstring)."""

    price: NDArray[np.float64]
    delta: NDArray[np.float64]
    gamma: NDArray[np.float64]
    vega: NDArray[np.float64]
    theta: NDArray[np.float64]
    vanna: NDArray[np.float64]
    charm: NDArray[np.float64]


def _npdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def black_scholes(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, q: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> Greeks:
    """Price and greeks of European options under Black-Scholes-Merton with continuous yield ``q``.

    All arguments broadcast against each other; ``is_call`` is boolean (True = call, False = put).
    Returns arrays of the broadcast shape; NaN where the model is undefined (see module docstring).
    """
    S, K, T, r, q, sigma = (np.asarray(a, dtype=np.float64) for a in (S, K, T, r, q, sigma))
    call = np.asarray(is_call, dtype=bool)
    ok = (T > 0) & (sigma > 0) & (S > 0) & (K > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        Tp = np.where(ok, T, np.nan)
        sqrt_t = np.sqrt(Tp)
        vol_t = sigma * sqrt_t
        d1 = (np.log(S / K) + (r - q + 0.5 * sigma * sigma) * Tp) / vol_t
        d2 = d1 - vol_t
        df_q = np.exp(-q * Tp)
        df_r = np.exp(-r * Tp)
        pdf1 = _npdf(d1)
        sign = np.where(call, 1.0, -1.0)
        nd1 = ndtr(sign * d1)  # N(d1) for calls, N(-d1) for puts
        nd2 = ndtr(sign * d2)
        price = sign * (S * df_q * nd1 - K * df_r * nd2)
        delta = sign * df_q * nd1
        gamma = df_q * pdf1 / (S * vol_t)
        vega = S * df_q * pdf1 * sqrt_t
        theta = -S * df_q * pdf1 * sigma / (2.0 * sqrt_t) + sign * (q * S * df_q * nd1 - r * K * df_r * nd2)
        vanna = -df_q * pdf1 * d2 / sigma
        # charm = -d(delta)/dT; the N(.) term flips sign with the put's N(-d1).
        dd1_dt = (r - q) / vol_t - d2 / (2.0 * Tp)
        charm = sign * q * df_q * nd1 - df_q * pdf1 * dd1_dt
    return Greeks(price, delta, gamma, vega, theta, vanna, charm)


def bs_gamma(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, q: ArrayLike, sigma: ArrayLike
) -> NDArray[np.float64]:
    """Gamma alone, for the spot-grid x contracts matrix of the gamma-flip search.

    Same value as ``black_scholes(...).gamma`` but skips the other greeks, which matters when the
    matrix has millions of cells. Returns 0 (not NaN) where the model is undefined, because here an
    expired or zero-IV contract must simply not contribute to the sum.
    """
    S, K, T, r, q, sigma = (np.asarray(a, dtype=np.float64) for a in (S, K, T, r, q, sigma))
    ok = (T > 0) & (sigma > 0) & (K > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        Tp = np.where(ok, T, 1.0)
        sg = np.where(ok, sigma, 1.0)
        vol_t = sg * np.sqrt(Tp)
        d1 = (np.log(S / K) + (r - q + 0.5 * sg * sg) * Tp) / vol_t
        g = np.exp(-q * Tp) * _npdf(d1) / (S * vol_t)
    return np.where(ok & (S > 0), g, 0.0)


def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> NDArray[np.float64]:
    """Black-Scholes-Merton implied volatility, vectorized, by safeguarded Newton inside a bracket.

    Why this scheme: the option is first mapped to its out-of-the-money twin by put-call parity
    (an ITM price carries the intrinsic value, which swamps the time value we solve for). Newton
    starts at the Manaster-Koehler inflection point and iterates on log(price), which stays well
    conditioned in the far wings where the price is ~exp(-d^2/2); any step
    that leaves the shrinking bracket [lo, hi] falls back to bisection, so deep wings with vanishing
    vega still converge instead of diverging.

    NaN where no volatility fits: ``T <= 0``, non-positive inputs, a price at or below intrinsic
    value, at or above the no-arbitrage upper bound (``S e^-qT`` for calls, ``K e^-rT`` for puts),
    or a solution above 1000 % vol.
    """
    price, S, K, T, r, q = (np.asarray(a, dtype=np.float64) for a in (price, S, K, T, r, q))
    call = np.asarray(is_call, dtype=bool)
    price, S, K, T, r, q, call = np.broadcast_arrays(price, S, K, T, r, q, call)
    shape = price.shape
    price, S, K, T, r, q, call = (np.ravel(a) for a in (price, S, K, T, r, q, call))
    out = np.full(price.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        valid = np.isfinite(price) & (T > 0) & (S > 0) & (K > 0) & np.isfinite(r) & np.isfinite(q)
        fwd_s = S * np.exp(-q * T)  # discounted forward
        disc_k = K * np.exp(-r * T)
        intrinsic = np.where(call, np.maximum(fwd_s - disc_k, 0.0), np.maximum(disc_k - fwd_s, 0.0))
        upper = np.where(call, fwd_s, disc_k)
        valid &= (price > intrinsic) & (price < upper)
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return out.reshape(shape)
    S, K, T, r, q, p = S[idx], K[idx], T[idx], r[idx], q[idx], price[idx]
    call, fwd_s, disc_k = call[idx], fwd_s[idx], disc_k[idx]
    # OTM twin: a call with K > F stays a call; otherwise solve the equivalent put (parity).
    otm_call = disc_k > fwd_s
    p = np.where(call == otm_call, p, p - np.where(call, 1.0, -1.0) * (fwd_s - disc_k))
    solve_call = otm_call
    x = np.log(fwd_s / disc_k)  # log-moneyness of the forward
    sigma = np.clip(np.sqrt(2.0 * np.abs(x) / T), 0.05, 2.0)
    lo = np.full_like(p, _SIGMA_MIN)
    hi = np.full_like(p, _SIGMA_MAX)
    price_hi = black_scholes(S, K, T, r, q, hi, solve_call).price
    feasible = p < price_hi
    active = feasible.copy()
    for _ in range(max_iter):
        if not active.any():
            break
        a = np.flatnonzero(active)
        g = black_scholes(S[a], K[a], T[a], r[a], q[a], sigma[a], solve_call[a])
        diff = g.price - p[a]
        too_high = diff > 0
        hi[a] = np.where(too_high, sigma[a], hi[a])
        lo[a] = np.where(too_high, lo[a], sigma[a])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # Newton on log(price): in the far wings price is ~exp(-d^2/2), where plain Newton only
            # creeps (a step of price/vega), while the log form moves by the full distance.
            step = sigma[a] - (np.log(g.price) - np.log(p[a])) * g.price / g.vega
        inside = np.isfinite(step) & (step > lo[a]) & (step < hi[a])
        new = np.where(inside, step, 0.5 * (lo[a] + hi[a]))
        done = (np.abs(diff) <= tol * np.maximum(p[a], 1e-300)) | (np.abs(new - sigma[a]) <= 1e-15 * new)
        sigma[a] = np.where(done, sigma[a], new)
        active[a] = ~done
    result = np.where(feasible, sigma, np.nan)
    out[idx] = result
    return out.reshape(shape)
