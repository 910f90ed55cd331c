"""Gamma cycles: where expiring open interest pins price, how skew and term structure look, and how
much of the gamma rolls off today and this week.

All functions take the chain's contracts frame plus per-contract arrays computed once by
``snapshot.analyze`` (model delta, absolute model GEX, live mask), so nothing is priced twice.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from options.analytics.expiry import NEW_YORK, expiration_calendar

__all__ = [
    "atm_term_structure",
    "gamma_expiry_shares",
    "gamma_cycles",
    "max_pain",
    "pin_risk_strikes",
    "risk_reversal_25d",
]


def max_pain(strike: np.ndarray, is_call: np.ndarray, open_interest: np.ndarray) -> float | None:
    """Strike at which option holders' total intrinsic payout is smallest (one expiry's contracts).

    Evaluated at every listed strike with a strikes x contracts matrix; ties go to the lower strike.
    """
    keep = open_interest > 0
    if not keep.any():
        return None
    k, c, oi = strike[keep], is_call[keep], open_interest[keep]
    candidates = np.unique(strike)
    diff = candidates[:, None] - k[None, :]
    payout = np.where(c, np.maximum(diff, 0.0), np.maximum(-diff, 0.0)) @ oi
    return float(candidates[int(np.argmin(payout))])


def pin_risk_strikes(
    strike: np.ndarray, open_interest: np.ndarray, spot: float, *, window: float = 0.03, top: int = 3
) -> list[dict[str, float]]:
    """Strikes within +-window of spot holding the most call+put open interest (largest first)."""
    near = (np.abs(strike - spot) <= window * spot) & (open_interest > 0)
    if not near.any():
        return []
    # groupby(strike).sum() then sort_values(ascending=False).head(top), in numpy: same quicksort
    # and the same reversal pandas' nargsort uses for a descending sort, so ties order identically.
    keys, inverse = np.unique(strike[near], return_inverse=True)
    sums = np.bincount(inverse, weights=open_interest[near], minlength=len(keys))
    order = np.arange(len(sums))[::-1][sums[::-1].argsort(kind="quicksort")][::-1][:top]
    return [{"strike": float(keys[i]), "open_interest": float(sums[i])} for i in order]


def _iv_at(x: np.ndarray, iv: np.ndarray, target: float) -> float | None:
    order = np.argsort(x)
    x, iv = x[order], iv[order]
    if x.size < 2 or not (x[0] <= target <= x[-1]):
        return None
    return float(np.interp(target, x, iv))


def risk_reversal_25d(is_call: np.ndarray, delta: np.ndarray, iv: np.ndarray) -> dict[str, float | None]:
    """25-delta call IV, put IV and risk reversal (call - put; negative = put skew) for one expiry.

    Interpolates IV linearly in model delta; None when the chain does not straddle 25 delta.
    """
    ok = np.isfinite(delta) & (iv > 0)
    c = ok & is_call & (delta > 0.02) & (delta < 0.98)
    p = ok & ~is_call & (delta < -0.02) & (delta > -0.98)
    call_iv = _iv_at(delta[c], iv[c], 0.25)
    put_iv = _iv_at(delta[p], iv[p], -0.25)
    rr = call_iv - put_iv if call_iv is not None and put_iv is not None else None
    return {"call_25d_iv": call_iv, "put_25d_iv": put_iv, "risk_reversal": rr}


def atm_iv(strike: np.ndarray, is_call: np.ndarray, iv: np.ndarray, spot: float) -> float | None:
    """ATM IV of one expiry: OTM options' IV (calls above spot, puts below) interpolated at spot."""
    otm = (iv > 0) & np.where(is_call, strike >= spot, strike < spot)
    return _iv_at(strike[otm], iv[otm], spot)


def atm_term_structure(
    groups: list[tuple[dt.date, np.ndarray]],
    strike: np.ndarray,
    is_call: np.ndarray,
    iv: np.ndarray,
    days_left: np.ndarray,
    spot: float,
) -> list[dict[str, float | str | None]]:
    """ATM IV per expiry group (ascending), with calendar days to the expiry instant."""
    return [
        {
            "expiry": expiry.isoformat(),
            "days": float(np.nanmin(days_left[idx])),
            "atm_iv": atm_iv(strike[idx], is_call[idx], iv[idx], spot),
        }
        for expiry, idx in groups
    ]


def gamma_expiry_shares(contracts: pd.DataFrame, abs_gex: np.ndarray, asof: dt.datetime) -> dict[str, float]:
    """Share of absolute model GEX expiring today (0-DTE) and by Friday of this week (New York dates)."""
    total = float(np.nansum(abs_gex))
    if total <= 0:
        return {"share_0dte": 0.0, "share_this_week": 0.0}
    today = np.datetime64(asof.astimezone(NEW_YORK).date(), "D")
    friday = today + np.timedelta64((4 - asof.astimezone(NEW_YORK).weekday()) % 7, "D")
    exp = contracts["expiry"].to_numpy(dtype="datetime64[D]")
    return {
        "share_0dte": float(np.nansum(abs_gex[exp == today]) / total),
        "share_this_week": float(np.nansum(abs_gex[exp <= friday]) / total),
    }


def _groups(contracts: pd.DataFrame, mask: np.ndarray) -> list[tuple[dt.date, np.ndarray]]:
    """(expiry date, contract indices) for the masked contracts, ascending expiry; one sort, no loop scan."""
    exp = contracts["expiry"].to_numpy(dtype="datetime64[D]")
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    order = idx[np.argsort(exp[idx], kind="stable")]
    uniq, starts = np.unique(exp[order], return_index=True)
    parts = np.split(order, starts[1:])
    return [(u.astype(dt.date), part) for u, part in zip(uniq, parts, strict=True)]


def gamma_cycles(
    contracts: pd.DataFrame,
    *,
    spot: float,
    asof: dt.datetime,
    live: np.ndarray,
    days_left: np.ndarray,
    model_delta: np.ndarray,
    abs_gex: np.ndarray,
    nearest: int = 3,
    pin_window: float = 0.03,
) -> dict[str, object]:
    """The ``cycles`` block of a snapshot: per nearest expiries, term structure, shares, calendar."""
    strike = contracts["strike"].to_numpy()
    is_call = contracts["is_call"].to_numpy()
    oi = np.nan_to_num(contracts["open_interest"].to_numpy())
    iv = np.nan_to_num(contracts["iv"].to_numpy())
    groups = _groups(contracts, live)
    expiries = []
    for expiry, idx in groups[:nearest]:
        expiries.append(
            {
                "expiry": expiry.isoformat(),
                "max_pain": max_pain(strike[idx], is_call[idx], oi[idx]),
                "pin_risk": pin_risk_strikes(strike[idx], oi[idx], spot, window=pin_window),
                **risk_reversal_25d(is_call[idx], model_delta[idx], iv[idx]),
                "open_interest": float(oi[idx].sum()),
            }
        )
    return {
        "expiries": expiries,
        "term_structure": atm_term_structure(groups, strike, is_call, iv, days_left, spot),
        **gamma_expiry_shares(contracts, abs_gex, asof),
        "calendar": expiration_calendar(asof),
    }
