"""The engine's decision for one bar: confluence label -> regime strategy -> direction.

The label's side (BUY/STRONG_BUY +1, SELL/STRONG_SELL -1, NEUTRAL 0) is proposed; the regime's
strategy (``strategies``) keeps it or vetoes it to 0. ``decide`` (one bar, live) and
``decide_frame`` (a features frame, backtests) apply the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from trading.engine import regime as rg
from trading.engine import strategies
from trading.engine.confluence import DIRECTION, ConfluenceConfig
from trading.engine.features import FEATURE_COLUMNS

_DEFAULT = ConfluenceConfig()


@dataclass
class SignalDecision:
    """What the engine decided on one bar, with the inputs needed to explain it."""

    ts: Any
    direction: int
    label: str
    confluence: float
    regime: str
    strategy: str
    features: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ISO-8601 UTC time, plain floats."""
        out = asdict(self)
        out["ts"] = _iso(self.ts)
        out["confluence"] = float(self.confluence)
        out["features"] = {k: float(v) for k, v in self.features.items()}
        return out


def _iso(ts: Any) -> str | None:
    if ts is None:
        return None
    if isinstance(ts, int):
        return datetime.fromtimestamp(ts / 1e9, tz=UTC).isoformat()
    return (
        pd.Timestamp(ts).tz_convert("UTC").isoformat()
        if pd.Timestamp(ts).tzinfo
        else pd.Timestamp(ts).isoformat()
    )


def decide(
    feature_row: Mapping[str, float], regime: str, config: ConfluenceConfig | None = None
) -> SignalDecision:
    """Decision for one bar from its features (incl. ``confluence``; ``ts`` optional) and regime."""
    cfg = config or _DEFAULT
    score = float(feature_row["confluence"])
    lab = cfg.label(score)
    proposed = DIRECTION[lab]
    strategy, reasons = strategies.select(feature_row, regime, proposed, lab.startswith("STRONG"))
    direction = 0 if strategy == strategies.STAND_ASIDE else proposed
    reasons = [f"confluence {score:.3f} -> {lab}", *reasons]
    feats = {k: float(feature_row[k]) for k in FEATURE_COLUMNS if k in feature_row}
    return SignalDecision(
        ts=feature_row.get("ts"),
        direction=direction,
        label=lab,
        confluence=score,
        regime=regime,
        strategy=strategy,
        features=feats,
        reasons=reasons,
    )


def decide_frame(
    features: pd.DataFrame,
    regime: np.ndarray | pd.Series | None = None,
    config: ConfluenceConfig | None = None,
    *,
    efficiency_ratio: np.ndarray | None = None,
    regime_config: rg.RegimeConfig | None = None,
) -> pd.DataFrame:
    """Batch ``decide``: columns direction, label, regime, strategy on the features' index.

    ``regime`` may be given; otherwise it is classified from ``efficiency_ratio`` (an array, e.g.
    ``features.efficiency_ratio(bars)``) and the ``volatility_regime`` column, or from an
    ``efficiency_ratio`` column of ``features``.
    """
    cfg = config or _DEFAULT
    if regime is None:
        er = efficiency_ratio if efficiency_ratio is not None else features.get("efficiency_ratio")
        if er is None:
            raise ValueError("decide_frame needs regime, efficiency_ratio, or an efficiency_ratio column")
        regime = rg.classify_frame(np.asarray(er), features["volatility_regime"].to_numpy(), regime_config)
    reg = np.asarray(regime, dtype=object)
    lab = cfg.labels(features["confluence"].to_numpy())
    proposed = np.select(
        [np.isin(lab, ("BUY", "STRONG_BUY")), np.isin(lab, ("SELL", "STRONG_SELL"))], [1, -1], 0
    )
    strong = np.isin(lab, ("STRONG_BUY", "STRONG_SELL"))
    cols = {
        c: features[c].to_numpy()
        for c in ("support_resistance", "market_structure", "tick_momentum", "vwap_trend")
    }
    strat = strategies.select_frame(cols, reg, proposed, strong)
    direction = np.where(strat == strategies.STAND_ASIDE, 0, proposed).astype(np.int64)
    return pd.DataFrame(
        {"direction": direction, "label": lab, "regime": reg, "strategy": strat}, index=features.index
    )
