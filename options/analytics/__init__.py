"""Pure options analytics (no Django): greeks, chains, GEX, gamma cycles and the snapshot."""

from options.analytics.chain import CONTRACT_COLUMNS, Chain, ChainFileError
from options.analytics.config import AnalysisConfig
from options.analytics.greeks import Greeks, black_scholes, implied_vol
from options.analytics.snapshot import SnapshotResult, analyze

__all__ = [
    "CONTRACT_COLUMNS",
    "AnalysisConfig",
    "Chain",
    "ChainFileError",
    "Greeks",
    "SnapshotResult",
    "analyze",
    "black_scholes",
    "implied_vol",
]
