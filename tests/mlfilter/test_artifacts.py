"""Artifacts: exact round trip without pickle, refusal of a mismatched version, feature list or file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlfilter.ml.artifacts import FORMAT_VERSION, ModelFormatError, load_model, save_model
from mlfilter.ml.dataset import FEATURES
from mlfilter.ml.ensemble import EnsembleConfig, EnsembleModel
from tests.mlfilter.conftest import synthetic_table


@pytest.fixture(scope="module")
def small_model() -> EnsembleModel:
    x, y = synthetic_table()
    model = EnsembleModel(EnsembleConfig(rf_trees=15, xgb_trees=15)).fit(x, y)
    model.meta.update(model_version="mlf-test", data_hash="abc", metrics={"auc": 0.7})
    return model


@pytest.fixture
def saved(small_model, tmp_path):
    manifest = save_model(small_model, tmp_path / "m")
    return tmp_path / "m", manifest


def test_round_trip_reproduces_probabilities_exactly(small_model, saved):
    directory, manifest = saved
    loaded = load_model(directory, FEATURES)
    probe = np.random.default_rng(5).random((300, len(FEATURES)))
    np.testing.assert_array_equal(loaded.predict_proba(probe), small_model.predict_proba(probe))
    assert manifest["format_version"] == FORMAT_VERSION and manifest["features"] == list(FEATURES)
    assert set(manifest["feature_importances"]) == set(small_model.inputs)
    assert loaded.meta["model_version"] == "mlf-test"


def test_no_pickle_anywhere(saved):
    directory, manifest = saved
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["forest.skops", "logistic.skops", "manifest.json", "scaler.skops", "xgboost.json"]
    assert json.loads((directory / "xgboost.json").read_text())["learner"]  # XGBoost's own JSON format


def _edit_manifest(directory, **changes) -> None:
    path = directory / "manifest.json"
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def test_refuses_a_different_format_version(saved):
    directory, _ = saved
    _edit_manifest(directory, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelFormatError, match="format"):
        load_model(directory, FEATURES)


def test_refuses_a_different_feature_list(saved):
    directory, _ = saved
    with pytest.raises(ModelFormatError, match="features"):
        load_model(directory, list(reversed(FEATURES)))
    _edit_manifest(directory, features=list(FEATURES[:-1]))
    with pytest.raises(ModelFormatError, match="features"):
        load_model(directory, FEATURES)


def test_refuses_a_tampered_member_file(saved):
    directory, _ = saved
    (directory / "xgboost.json").write_text("{}")
    with pytest.raises(ModelFormatError, match="hash"):
        load_model(directory, FEATURES)


def test_refuses_a_directory_without_manifest(tmp_path):
    with pytest.raises(ModelFormatError, match="manifest"):
        load_model(tmp_path, FEATURES)
