"""Battle Navale features, Elite techniques and the confluence score (batch).

``compute_features(bars)`` returns, on the bars' index, the twelve feature columns (each in
[0, 1], 0.5 neutral, > 0.5 bullish except ``volatility_regime`` and ``session_optimizer``, which
grade conditions rather than direction) and ``confluence``, the DESIGN section 4 weighted sum of
the eight Battle Navale features. A row depends only on bars at or before it; the incremental
engine (``trading.engine.incremental.FeatureEngine``) gives the same numbers bar by bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading.engine.confluence import BATTLE_NAVALE, ConfluenceConfig  # one list of names, kept with the weights
from trading.engine.features import battle_navale as bn
from trading.engine.features import elite
from trading.engine.features.core import BarContext, atr, build_context

ELITE = ("tick_momentum", "delta_divergence", "volatility_regime", "session_optimizer")
FEATURE_COLUMNS = (*BATTLE_NAVALE, *ELITE)
OUTPUT_COLUMNS = (*FEATURE_COLUMNS, "confluence")

__all__ = [
    "BATTLE_NAVALE",
    "ELITE",
    "FEATURE_COLUMNS",
    "OUTPUT_COLUMNS",
    "atr",
    "build_context",
    "compute_features",
    "efficiency_ratio",
]


def compute_features(
    bars: pd.DataFrame,
    *,
    options: pd.DataFrame | None = None,
    tick_size: float = 0.25,
    weights: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The 12 feature columns plus ``confluence`` for a bar frame (UTC index, ascending, no NaN).

    ``options``: DataFrame indexed by UTC time with ``dealer_bias_score`` (latest at or before
    each bar is used). ``tick_size`` sets the volume-profile bucket. ``weights`` overrides the
    confluence weights (default ``ConfluenceConfig().weights``).
    """
    w = ConfluenceConfig().weights if weights is None else ConfluenceConfig(weights=weights).weights
    if len(bars) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in OUTPUT_COLUMNS}, index=bars.index)
    ctx = build_context(bars, tick_size)
    cols = {
        "vwap_trend": bn.vwap_trend(ctx),
        "volume_imbalance": bn.volume_imbalance(ctx),
        "price_action": bn.price_action(ctx),
        "momentum_flow": bn.momentum_flow(ctx),
        "support_resistance": bn.support_resistance(ctx),
        "market_structure": bn.market_structure(ctx),
        "session_analysis": bn.session_analysis(ctx),
        "dealers_bias": bn.dealers_bias(bars.index, options),
        "tick_momentum": elite.tick_momentum(ctx),
        "delta_divergence": elite.delta_divergence(ctx),
        "volatility_regime": elite.volatility_regime(ctx),
        "session_optimizer": elite.session_optimizer(ctx),
    }
    for name in FEATURE_COLUMNS:  # float noise (0.5 - 0.2 - 0.2 - 0.1 = -3e-17) must not leave [0, 1]
        cols[name] = np.clip(cols[name], 0.0, 1.0)
    conf = np.zeros(len(bars))
    for name in BATTLE_NAVALE:  # fixed order, as in the engine, so the sums match bit for bit
        conf = conf + w[name] * cols[name]
    cols["confluence"] = conf
    return pd.DataFrame(cols, index=bars.index)


def efficiency_ratio(bars: pd.DataFrame | BarContext, tick_size: float = 0.25) -> pd.Series | np.ndarray:
    """Kaufman efficiency ratio (20 bars) for ``bars`` (a Series) or a built context (an array)."""
    if isinstance(bars, BarContext):
        return elite.efficiency_ratio(bars)
    return pd.Series(
        elite.efficiency_ratio(build_context(bars, tick_size)), index=bars.index, name="efficiency_ratio"
    )
