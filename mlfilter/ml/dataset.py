"""The training table: one row per candidate signal of the engine, its features and its barrier label.

A row exists where the engine would have traded (``decide_frame`` direction != 0) or, with
``candidates="label"``, wherever the confluence label is not NEUTRAL (more rows, including signals the
regime strategy vetoed). Inputs are the engine's own feature columns (``FEATURES``, order fixed: the
model, its artifacts and the fast path all index columns by position).

The model does not see those columns raw: ``design_matrix`` turns them into *side-aligned* inputs.
For a short, a bullish reading is evidence against the trade, so the directional features are
mirrored (x -> 1 - x) and a ``side`` column is appended. One model then serves longs and shorts, and
the linear member can use "evidence agrees with the trade" without interaction terms. The side is
``sign(confluence - 0.5)``, which equals the engine's direction on every BUY/SELL label for any sane
threshold set, so callers only ever supply ``FEATURES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlfilter.ml.labels import BarrierConfig, triple_barrier_labels
from trading.engine.decision import decide_frame
from trading.engine.features import OUTPUT_COLUMNS, atr, compute_features, efficiency_ratio

__all__ = ["DIRECTIONAL", "FEATURES", "INPUTS", "DatasetConfig", "build_dataset", "design_matrix", "signal_side"]

# The model reads the engine's output columns in the engine's order: one list, kept by the engine.
FEATURES: tuple[str, ...] = OUTPUT_COLUMNS
# volatility_regime and session_optimizer grade conditions, not direction: they are not mirrored.
DIRECTIONAL: tuple[str, ...] = tuple(f for f in FEATURES if f not in ("volatility_regime", "session_optimizer"))
INPUTS: tuple[str, ...] = (*FEATURES, "side")
_MIRROR = np.array([f in DIRECTIONAL for f in FEATURES])
CANDIDATES = ("direction", "label")


@dataclass(frozen=True)
class DatasetConfig:
    """Which bars are candidates, the barriers, and the instrument's money/tick units."""

    candidates: str = "direction"
    barrier: BarrierConfig = field(default_factory=BarrierConfig)
    source: str = ""

    def __post_init__(self) -> None:
        if self.candidates not in CANDIDATES:
            raise ValueError(f"candidates must be one of {CANDIDATES}, got {self.candidates!r}")


def signal_side(confluence: np.ndarray) -> np.ndarray:
    """+1 for confluence >= 0.5 (the bullish labels), -1 below."""
    return np.where(np.asarray(confluence, dtype=np.float64) >= 0.5, 1.0, -1.0)


def design_matrix(x: np.ndarray) -> np.ndarray:
    """Model inputs (``INPUTS``) from raw ``FEATURES`` rows: mirror directional columns for shorts, add side."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(FEATURES):
        raise ValueError(f"expected an (n, {len(FEATURES)}) matrix of FEATURES, got shape {x.shape}")
    side = signal_side(x[:, -1])
    short = (side < 0)[:, None] & _MIRROR[None, :]
    return np.column_stack([np.where(short, 1.0 - x, x), side])


def build_dataset(bars: pd.DataFrame, *, features: pd.DataFrame | None = None, decisions: pd.DataFrame | None = None,
                  config: DatasetConfig | None = None, options: pd.DataFrame | None = None) -> pd.DataFrame:
    """One labelled row per candidate signal in ``bars``; columns ``FEATURES`` + label columns + ``source``.

    ``features``/``decisions`` may be passed when already computed (the backtester has them); otherwise
    they come from ``compute_features`` (with ``options`` feeding dealers_bias) and ``decide_frame``.
    """
    cfg = config or DatasetConfig()
    tick = cfg.barrier.tick_size
    if features is None:
        features = compute_features(bars, options=options, tick_size=tick)
    if decisions is None:
        decisions = decide_frame(features, efficiency_ratio=np.asarray(efficiency_ratio(bars, tick)))
    if cfg.candidates == "direction":
        mask = decisions["direction"].to_numpy() != 0
    else:
        mask = decisions["label"].to_numpy() != "NEUTRAL"
    pos = np.flatnonzero(mask)
    sides = signal_side(features["confluence"].to_numpy()[pos]).astype(np.int64)
    labels = triple_barrier_labels(bars, pos, sides, atr(bars).to_numpy(np.float64), cfg.barrier)
    table = features.loc[labels.index, list(FEATURES)].join(labels)
    table["source"] = cfg.source
    return table


def concat_datasets(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Several files' tables as one, ordered by decision time (ties keep file order) with a 0..n-1 index."""
    if not tables:
        raise ValueError("no datasets to combine")
    both = pd.concat(list(tables), ignore_index=False)
    both = both.reset_index(names="ts")
    return both.sort_values("t_signal", kind="stable").reset_index(drop=True)
