"""Real ES bars and their batch features, computed once per test session."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.engine._data import es_minute_file
from trading.engine.features import compute_features
from trading.engine.loaders import load_bars


@pytest.fixture(scope="session")
def es_bars() -> pd.DataFrame:
    return load_bars(es_minute_file()).bars


@pytest.fixture(scope="session")
def es_features(es_bars: pd.DataFrame) -> pd.DataFrame:
    return compute_features(es_bars)
