"""Time-to-expiry convention and the expiration calendar.

Convention (one place, so GEX, flip, skew and cycles all agree):

* An option expires at **16:00 America/New_York** on its expiry date (SPXW/NDXP weeklies and 0-DTEs,
  SPY). The AM-settled standard monthlies (OCC roots ``SPX``, ``NDX``, ``RUT``) stop carrying risk at
  the **09:30** opening print of their expiry date, so they expire then. DST is handled by zoneinfo.
* ``T`` is **trading time** by default (``convention="busdays"``): ``numpy.busday_count(asof NY
  date, expiry date) / 252``, the convention of the published reference method (PROVENANCE.md
  section 1). Gamma accrues when the market trades, so weekends and nights do not age an option;
  with it the SPX and NDX reference flips reproduce within 0.02 %. A same-day contract (count 0)
  gets the ``min_t_years`` floor when the quote date is a business day and is dropped when it is
  not: a Saturday file gives Monday's expiry T = 0. Live snapshots are taken in market hours on
  business days, where that case cannot arise; for weekend files ``convention="calendar"``
  (seconds to expiry / 365 days, keeping such contracts alive) moves the NDX 2022-02-05 flip
  +0.59 % (14,773 instead of 14,687).
* A contract whose expiry instant is at or before ``asof`` is **expired**: it keeps its row (its OI is
  still reported) but gets no model greeks. That includes same-day options in a file stamped after
  the 16:00 close, such as the 2023-09-14 16:31 SPX download.
* Any live contract gets ``T >= min_t_years`` (default 1/252, one trading day). Without the floor a
  0-DTE ten minutes before the close has a gamma spike so narrow that it dominates the profile and
  makes the flip jump between snapshots; 1/252 is also the guard the Perfiliev reference uses.
* Exchange holidays are not modelled (an expiry moved to Thursday by Good Friday is listed with its
  real date by CBOE anyway; only the OPEX calendar below could be a day off on such weeks).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "AM_SETTLED_ROOTS",
    "NEW_YORK",
    "SECONDS_PER_YEAR",
    "expiration_calendar",
    "expiry_instants",
    "third_friday",
    "years_to_expiry",
]

NEW_YORK = ZoneInfo("America/New_York")
SECONDS_PER_YEAR = 365.0 * 86_400.0
AM_SETTLED_ROOTS = frozenset({"SPX", "NDX", "RUT"})
_PM_CLOSE = dt.time(16, 0)
_AM_OPEN = dt.time(9, 30)


def expiry_instants(expiry: np.ndarray, root: np.ndarray) -> np.ndarray:
    """UTC expiry instants (datetime64[s], naive UTC) for expiry dates and OCC roots."""
    return _instants(np.asarray(expiry, dtype="datetime64[D]"), _am_settled(root))


def _am_settled(root: np.ndarray | pd.Series) -> np.ndarray:
    """True where the OCC root is an AM-settled monthly; one hash pass over the roots, then a
    membership test per distinct root (a sorted ``np.isin`` on 20,000 Python strings is slower)."""
    codes, uniques = pd.factorize(np.asarray(root, dtype=object) if not isinstance(root, pd.Series) else root)
    if len(codes) == 0:
        return np.zeros(0, dtype=bool)
    table = np.array([u in AM_SETTLED_ROOTS for u in uniques] + [False], dtype=bool)  # code -1 -> False
    return table[codes]


def _instants(expiry: np.ndarray, am: np.ndarray) -> np.ndarray:
    key = expiry.astype(np.int64) * 2 + am
    inverse, uniq = pd.factorize(key)  # hashing: the few dozen distinct keys, no sort of 20,000
    out = np.empty(len(uniq), dtype="datetime64[s]")
    for i, k in enumerate(uniq):
        day = np.datetime64(int(k // 2), "D").astype(dt.date)
        local = dt.datetime.combine(day, _AM_OPEN if k % 2 else _PM_CLOSE, tzinfo=NEW_YORK)
        out[i] = np.datetime64(local.astimezone(dt.UTC).replace(tzinfo=None), "s")
    return out[inverse]


def years_to_expiry(
    contracts: pd.DataFrame,
    asof: dt.datetime,
    *,
    min_t_years: float = 1.0 / 252.0,
    convention: str = "calendar",
    busdays_per_year: float = 252.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(T, expired)`` per contract: model time in years (floored) and the expired mask.

    ``T`` is NaN for expired contracts (and, in the "busdays" convention, for the contracts that
    method drops) so nothing downstream can price them by accident.
    """
    if len(contracts) == 0:
        return np.array([], dtype=np.float64), np.array([], dtype=bool)
    expiry = contracts["expiry"].to_numpy(dtype="datetime64[D]")
    instants = _instants(expiry, _am_settled(contracts["root"]))
    return _years_from_instants(
        instants,
        expiry,
        asof,
        min_t_years=min_t_years,
        convention=convention,
        busdays_per_year=busdays_per_year,
    )


def _years_from_instants(
    instants: np.ndarray,
    expiry: np.ndarray,
    asof: dt.datetime,
    *,
    min_t_years: float,
    convention: str,
    busdays_per_year: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``years_to_expiry`` from precomputed expiry instants and expiry dates (datetime64[D])."""
    now = np.datetime64(asof.astimezone(dt.UTC).replace(tzinfo=None), "s")
    seconds = (instants - now).astype(np.float64)
    expired = seconds <= 0
    if convention == "calendar":
        t = np.maximum(seconds / SECONDS_PER_YEAR, min_t_years)
    elif convention == "busdays":
        today = np.datetime64(asof.astimezone(NEW_YORK).date(), "D")
        # busday_count per distinct expiry (a few dozen), not per contract
        inverse, uniq = pd.factorize(expiry, use_na_sentinel=False)
        days = np.busday_count(today, uniq).astype(np.float64)[inverse]
        zero = min_t_years if np.is_busday(today) else np.nan
        t = np.where(days > 0, days / busdays_per_year, zero)
    else:
        raise ValueError(f"unknown time convention {convention!r}")
    return np.where(expired, np.nan, t), expired


def third_friday(year: int, month: int) -> dt.date:
    """The third Friday of a month: monthly equity-index OPEX (quarterly witching in Mar/Jun/Sep/Dec)."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def _next_third_friday(today: dt.date, months: tuple[int, ...]) -> dt.date:
    year, month = today.year, today.month
    while True:
        if month in months:
            day = third_friday(year, month)
            if day >= today:
                return day
        month += 1
        if month == 13:
            year, month = year + 1, 1


def expiration_calendar(asof: dt.datetime) -> dict[str, object]:
    """Days to the next monthly OPEX and quarterly witching, counted on New York calendar dates.

    An OPEX falling today counts as 0 days (today's gamma is still expiring).
    """
    today = asof.astimezone(NEW_YORK).date()
    monthly = _next_third_friday(today, tuple(range(1, 13)))
    quarterly = _next_third_friday(today, (3, 6, 9, 12))
    week_end = today + dt.timedelta(days=(4 - today.weekday()) % 7)
    return {
        "today": today.isoformat(),
        "week_end": week_end.isoformat(),
        "next_monthly_opex": monthly.isoformat(),
        "days_to_monthly_opex": (monthly - today).days,
        "next_quarterly_opex": quarterly.isoformat(),
        "days_to_quarterly_opex": (quarterly - today).days,
        "is_opex_day": monthly == today,
        "is_quarterly_opex_day": quarterly == today,
    }
