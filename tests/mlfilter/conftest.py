"""Real ES data trained once per session (the expensive part), and a small synthetic table for unit tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.shared_data import shared_data


def es_lean_path():
    return shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv"


@pytest.fixture(scope="session")
def es_bars() -> pd.DataFrame:
    from trading.engine.loaders import load_bars

    return load_bars(es_lean_path()).bars


@pytest.fixture(scope="session")
def es_training(es_bars):
    """The full-size ensemble (100 + 100 trees) trained once on the real front-month ES minutes."""
    from mlfilter.ml.training import BarSet, TrainConfig, train

    return train([BarSet(bars=es_bars, name="es_lean")], config=TrainConfig(min_samples=1000))


def synthetic_table(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """FEATURES-shaped rows in [0, 1] with a learnable label (so members and calibrators are non-trivial)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 13))
    score = 2.0 * (x[:, 0] - 0.5) + (x[:, 3] - 0.5) + rng.normal(0, 0.4, n)
    return x, (score > 0.3).astype(np.int64)
