"""Strategies per regime and the selector that picks one for a signal.

The confluence label proposes a direction; the regime's strategy decides whether this is the
kind of setup that regime pays for, and vetoes it (direction 0, strategy ``stand_aside``) if not.
Below, "agrees" means the feature is on the side of the proposed direction d (> 0.5 for a long,
< 0.5 for a short).

* trend regime (follow the move):
  - ``trend_breakout``: support_resistance says price is beyond every known level in direction d
    (>= 0.8 long, <= 0.2 short): a breakout in a trending tape.
  - ``trend_pullback``: market_structure agrees but tick_momentum disagrees: a counter-move inside
    the trend, entered as it resumes.
  - ``trend_continuation``: vwap_trend agrees.
  - otherwise ``stand_aside`` (never fade a trend).
* range regime (fade the edges):
  - ``range_fade``: price near the support (long) or resistance (short) side of the nearest levels
    but not through them (0.65 <= sr < 0.8 long, 0.2 < sr <= 0.35 short).
  - ``range_mean_reversion``: price on the far side of session VWAP (vwap_trend < 0.5 for a long,
    > 0.5 for a short), i.e. buying below value and selling above it.
  - otherwise ``stand_aside``.
* transition regime: only STRONG labels trade (``transition_strong``).
* volatile regime: ``stand_aside``.

``select`` (one row) and ``select_frame`` (arrays) implement the same rules; a test checks they
agree on the real ES file.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from trading.engine.regime import RANGE, TRANSITION, TREND

STAND_ASIDE = "stand_aside"
STRATEGIES = (
    "trend_breakout",
    "trend_pullback",
    "trend_continuation",
    "range_fade",
    "range_mean_reversion",
    "transition_strong",
    STAND_ASIDE,
)
BREAKOUT, NEAR_LEVEL = 0.8, 0.65  # support_resistance: beyond all levels / close to the favourable side


def select(features: Mapping[str, float], regime: str, direction: int, strong: bool) -> tuple[str, list[str]]:
    """Strategy for one proposed ``direction`` (+1/-1; 0 -> stand aside) and the reasons."""
    if direction == 0:
        return STAND_ASIDE, ["no directional confluence"]
    d = float(direction)
    sr = features["support_resistance"]
    if regime == TREND:
        if (d > 0 and sr >= BREAKOUT) or (d < 0 and sr <= 1.0 - BREAKOUT):
            return "trend_breakout", ["trend regime", "price beyond every support/resistance level"]
        if d * (features["market_structure"] - 0.5) > 0 and d * (features["tick_momentum"] - 0.5) < 0:
            return "trend_pullback", ["trend regime", "structure agrees, short-term momentum pulling back"]
        if d * (features["vwap_trend"] - 0.5) > 0:
            return "trend_continuation", ["trend regime", "price on the trend side of VWAP"]
        return STAND_ASIDE, ["trend regime", "signal against the VWAP trend"]
    if regime == RANGE:
        if (d > 0 and NEAR_LEVEL <= sr < BREAKOUT) or (d < 0 and 1.0 - BREAKOUT < sr <= 1.0 - NEAR_LEVEL):
            return "range_fade", ["range regime", "fading from a nearby support/resistance level"]
        if d * (features["vwap_trend"] - 0.5) < 0:
            return "range_mean_reversion", ["range regime", "price on the far side of VWAP"]
        return STAND_ASIDE, ["range regime", "no edge to fade"]
    if regime == TRANSITION:
        if strong:
            return "transition_strong", ["transition regime", "strong confluence"]
        return STAND_ASIDE, ["transition regime", "confluence not strong"]
    return STAND_ASIDE, [f"{regime} regime"]


def select_frame(
    features: Mapping[str, np.ndarray], regime: np.ndarray, direction: np.ndarray, strong: np.ndarray
) -> np.ndarray:
    """Vectorized ``select`` (strategy names only)."""
    d = np.asarray(direction, dtype=np.float64)
    sr = np.asarray(features["support_resistance"])
    ms = np.asarray(features["market_structure"])
    tm = np.asarray(features["tick_momentum"])
    vw = np.asarray(features["vwap_trend"])
    reg = np.asarray(regime)
    trend, rng, trans = reg == TREND, reg == RANGE, reg == TRANSITION
    breakout = ((d > 0) & (sr >= BREAKOUT)) | ((d < 0) & (sr <= 1.0 - BREAKOUT))
    pullback = (d * (ms - 0.5) > 0) & (d * (tm - 0.5) < 0)
    cont = d * (vw - 0.5) > 0
    fade = ((d > 0) & (sr >= NEAR_LEVEL) & (sr < BREAKOUT)) | (
        (d < 0) & (sr > 1.0 - BREAKOUT) & (sr <= 1.0 - NEAR_LEVEL)
    )
    revert = d * (vw - 0.5) < 0
    live = d != 0
    out = np.select(
        [
            ~live,
            trend & breakout,
            trend & pullback,
            trend & cont,
            trend,
            rng & fade,
            rng & revert,
            rng,
            trans & np.asarray(strong, dtype=bool),
        ],
        [
            STAND_ASIDE,
            "trend_breakout",
            "trend_pullback",
            "trend_continuation",
            STAND_ASIDE,
            "range_fade",
            "range_mean_reversion",
            STAND_ASIDE,
            "transition_strong",
        ],
        default=STAND_ASIDE,
    )
    return out.astype(object)
