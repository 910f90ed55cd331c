"""Fixtures for the ML app: one small model trained once on simulated bars, versions, pushes, URLs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlfilter.ml.training import TrainConfig, TrainingResult


@pytest.fixture(autouse=True)
def ml_env(settings, tmp_path: Path) -> Path:
    from mlfilter import inference

    settings.VAR_DIR = tmp_path
    inference.reset()
    yield tmp_path
    inference.reset()


@pytest.fixture
def pushes(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """Every dashboard message the ML services send, in order."""
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("mlfilter.services.push", lambda kind, data: sent.append((kind, data)))
    return sent


TINY = TrainConfig(min_samples=100, folds=3)


@pytest.fixture(scope="session")
def sim_bars():
    """Three simulated sessions (~4,100 minutes, ~500 candidate signals)."""
    from mlfilter.simulated import simulated_bars

    return simulated_bars(days=3, seed=3)


@pytest.fixture(scope="session")
def tiny_result(sim_bars) -> TrainingResult:
    from mlfilter.ml.training import BarSet, train

    return train([BarSet(bars=sim_bars, name="sim")], config=TINY)


@pytest.fixture(scope="session")
def tiny_dir(tiny_result, tmp_path_factory) -> Path:
    """The tiny model's artifacts, saved once; tests copy them before changing anything."""
    from mlfilter import jobs

    return jobs.write_artifacts(result=tiny_result, root=tmp_path_factory.mktemp("models"))


def clone_artifacts(src: Path, dst: Path, version: str) -> Path:
    """A copy of a saved model whose manifest names it `version` (the member files keep their hashes)."""
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["model_version"] = version
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def make_version(src: Path, root: Path, version: str, *, auc: float | None = 0.55, brier: float | None = 0.2,
                 trained_on: str = "real", **fields: Any):
    """A ModelVersion row with loadable artifacts and the given out-of-sample scores."""
    from mlfilter.ml.artifacts import FORMAT_VERSION
    from mlfilter.models import ModelVersion

    path = clone_artifacts(src, root / version, version)
    return ModelVersion.objects.create(version=version, trained_on=trained_on, format_version=FORMAT_VERSION,
                                       artifact_dir=str(path), metrics={"overall": {"auc": auc, "brier": brier}},
                                       **fields)
