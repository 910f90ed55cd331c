"""Fixtures for the options app: a scratch VAR_DIR, the URLs, captured pushes, snapshot factories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from options.analytics.chain import Chain
from options.analytics.snapshot import SnapshotResult, analyze
from options.models import OptionsSnapshot
from options.sources.synthetic import synthetic_chain
from tests.shared_data import shared_data

NICK = "spx_quotedata_2022-07-12_nickkxsper.csv"


@pytest.fixture(autouse=True)
def options_env(settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def pushes(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """Every dashboard message sent by the options services, in order."""
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("options.services.push", lambda kind, data: sent.append((kind, data)))
    return sent


def chain_file(name: str) -> Path:
    path = shared_data() / "options" / name
    if not path.exists():
        pytest.skip(f"missing {path}")
    return path


def chain_file_names() -> list[str]:
    """Names of the CBOE chain downloads in the shared data (evaluated at collection; may be empty)."""
    try:
        folder = shared_data() / "options"
    except BaseException:  # noqa: BLE001 - skip/fail happens again inside the test that needs the data
        return []
    return sorted(p.name for p in folder.glob("*quotedata*"))


SPX_ASOF = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)


def spx_chain(es_price: float = 5815.0, asof: dt.datetime = SPX_ASOF, underlying: str = "SPX") -> Chain:
    return synthetic_chain(es_price, asof, underlying=underlying, basis=15.0, seed=7)


def spx_result(**kwargs: Any) -> tuple[Chain, SnapshotResult]:
    chain = spx_chain(**kwargs)
    return chain, analyze(chain)


def make_snapshot(asof: dt.datetime, score: float, *, valid: bool = True, underlying: str = "SPX",
                  **fields: Any) -> OptionsSnapshot:
    return OptionsSnapshot.objects.create(underlying=underlying, asof=asof, source="synthetic", valid=valid,
                                          dealer_bias_score=score, spot=5800.0, **fields)
