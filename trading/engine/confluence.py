"""Confluence: the weighted sum of the eight Battle Navale features, and its signal label.

Defaults are DESIGN section 4: weights vwap_trend .20, volume_imbalance .15, price_action .15,
momentum_flow .15, support_resistance .10, market_structure .10, session_analysis .10,
dealers_bias .05; labels > .75 STRONG_BUY, > .60 BUY, < .25 STRONG_SELL, < .40 SELL, else NEUTRAL
(boundaries themselves are NEUTRAL/BUY/SELL: the comparisons are strict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

BATTLE_NAVALE = (
    "vwap_trend",
    "volume_imbalance",
    "price_action",
    "momentum_flow",
    "support_resistance",
    "market_structure",
    "session_analysis",
    "dealers_bias",
)
DEFAULT_WEIGHTS = {
    "vwap_trend": 0.20,
    "volume_imbalance": 0.15,
    "price_action": 0.15,
    "momentum_flow": 0.15,
    "support_resistance": 0.10,
    "market_structure": 0.10,
    "session_analysis": 0.10,
    "dealers_bias": 0.05,
}
LABELS = ("STRONG_SELL", "SELL", "NEUTRAL", "BUY", "STRONG_BUY")
DIRECTION = {"STRONG_BUY": 1, "BUY": 1, "NEUTRAL": 0, "SELL": -1, "STRONG_SELL": -1}


@dataclass(frozen=True)
class ConfluenceConfig:
    """Weights (one per Battle Navale feature, >= 0, summing to 1) and label thresholds."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    strong_buy: float = 0.75
    buy: float = 0.60
    sell: float = 0.40
    strong_sell: float = 0.25

    def __post_init__(self) -> None:
        w = dict(self.weights)
        unknown = sorted(set(w) - set(BATTLE_NAVALE))
        missing = sorted(set(BATTLE_NAVALE) - set(w))
        if unknown or missing:
            raise ValueError(
                f"confluence weights must name exactly {', '.join(BATTLE_NAVALE)}; "
                f"unknown {unknown}, missing {missing}"
            )
        negative = sorted(k for k, v in w.items() if not v >= 0)
        if negative:
            raise ValueError(f"confluence weights must be >= 0; negative or NaN: {', '.join(negative)}")
        total = sum(w.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"confluence weights must sum to 1 (within 1e-9); they sum to {total!r}")
        if not 0.0 <= self.strong_sell < self.sell < self.buy < self.strong_buy <= 1.0:
            raise ValueError(
                "confluence thresholds must satisfy 0 <= strong_sell < sell < buy < strong_buy <= 1; "
                f"got {self.strong_sell}, {self.sell}, {self.buy}, {self.strong_buy}"
            )
        object.__setattr__(self, "weights", {k: float(w[k]) for k in BATTLE_NAVALE})

    def score(self, features: Mapping[str, float]) -> float:
        """Weighted sum of one feature row, summed in the fixed feature order (as the batch does)."""
        total = 0.0
        for name in BATTLE_NAVALE:
            total = total + self.weights[name] * features[name]
        return total

    def label(self, score: float) -> str:
        """The signal label of one score."""
        if score > self.strong_buy:
            return "STRONG_BUY"
        if score > self.buy:
            return "BUY"
        if score < self.strong_sell:
            return "STRONG_SELL"
        if score < self.sell:
            return "SELL"
        return "NEUTRAL"

    def labels(self, scores: np.ndarray) -> np.ndarray:
        """Vectorized ``label`` (object array of label strings); NaN scores are NEUTRAL."""
        s = np.asarray(scores, dtype=np.float64)
        code = np.select(
            [s > self.strong_buy, s > self.buy, s < self.strong_sell, s < self.sell], [4, 3, 0, 1], default=2
        )
        return np.asarray(LABELS, dtype=object)[code]


def label(score: float, config: ConfluenceConfig | None = None) -> str:
    """``STRONG_BUY`` / ``BUY`` / ``NEUTRAL`` / ``SELL`` / ``STRONG_SELL`` for a confluence score."""
    return (config or _DEFAULT).label(score)


def labels(scores: np.ndarray, config: ConfluenceConfig | None = None) -> np.ndarray:
    """Vectorized ``label``."""
    return (config or _DEFAULT).labels(scores)


_DEFAULT = ConfluenceConfig()
