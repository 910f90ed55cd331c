"""Tunable parameters of the options analysis, in one frozen dataclass.

The Django side stores an edited copy in the admin and passes it to ``analyze(config=...)``; the
defaults reproduce the reference numbers in PROVENANCE.md section 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["AnalysisConfig", "SignConvention", "SIGN_CONVENTIONS"]

SignConvention = Literal["classic", "inverse", "short_all"]

#: (call sign, put sign) applied to gamma x OI. "classic": dealers are long the calls customers sold
#: them and short the puts customers bought (the usual GEX chart). "inverse" flips both; "short_all"
#: assumes customers bought everything, so dealers are short gamma on calls and puts alike.
SIGN_CONVENTIONS: dict[str, tuple[float, float]] = {
    "classic": (1.0, -1.0),
    "inverse": (-1.0, 1.0),
    "short_all": (-1.0, -1.0),
}


@dataclass(frozen=True)
class AnalysisConfig:
    """Parameters of ``analyze()``; see ``options.analytics.expiry`` for the time convention."""

    rate: float = 0.0  # r; 0 like the reference method, so model gamma matches the file's
    dividend_yield: float = 0.0  # q
    min_t_years: float = 1.0 / 252.0  # floor on T for live contracts (0-DTE guard)
    time_convention: Literal["calendar", "busdays"] = "busdays"  # trading-day time; see expiry.py
    busdays_per_year: float = 252.0
    sign_convention: SignConvention = "classic"
    flip_range: tuple[float, float] = (0.8, 1.2)  # search window for the gamma flip, x spot
    flip_grid_points: int = 161  # 0.25 % steps over 0.8-1.2 x spot before brentq refinement
    nearest_expiries: int = 3  # expiries reported by max pain / pin risk / skew
    pin_window: float = 0.03  # pin-risk strikes within +-3 % of spot
    pcr_neutral: float = 1.3  # OI put/call ratio read as neutral (index chains run put-heavy)
    vix_neutral: float = 20.0
    bias_weights: dict[str, float] = field(
        default_factory=lambda: {"flip": 0.35, "gex": 0.25, "walls": 0.15, "pcr": 0.15, "vix": 0.10}
    )

    def __post_init__(self) -> None:
        if self.sign_convention not in SIGN_CONVENTIONS:
            raise ValueError(f"unknown sign_convention {self.sign_convention!r}")
        lo, hi = self.flip_range
        if not 0 < lo < 1 < hi:
            raise ValueError("flip_range must bracket 1.0, e.g. (0.8, 1.2)")
        if self.time_convention not in ("calendar", "busdays"):
            raise ValueError(f"unknown time_convention {self.time_convention!r}")
        if self.flip_grid_points < 3 or self.min_t_years <= 0:
            raise ValueError("flip_grid_points >= 3 and min_t_years > 0 are required")
        if any(w < 0 for w in self.bias_weights.values()) or sum(self.bias_weights.values()) <= 0:
            raise ValueError("bias_weights must be non-negative and not all zero")
