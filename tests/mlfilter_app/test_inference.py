"""The live hook: (None, "") without a model, the deployed model's confidence with one, reloads, survives."""

from __future__ import annotations

import numpy as np
import pytest

from mlfilter import inference, services
from mlfilter.ml.dataset import FEATURES
from mlfilter.models import DEFAULT_THRESHOLD
from tests.mlfilter_app.conftest import make_version

pytestmark = pytest.mark.django_db


def feature_row(tiny_result, i: int = 0) -> dict[str, float]:
    return {name: float(v) for name, v in tiny_result.dataset.loc[i, list(FEATURES)].items()}


def test_without_a_deployed_model_there_is_no_confidence_and_signals_pass(tiny_result):
    assert inference.score(feature_row(tiny_result)) == (None, "")
    assert inference.passes(None) and inference.passes(None, 0.9)
    assert inference.current_threshold() == DEFAULT_THRESHOLD


def test_the_deployed_model_scores_like_the_library_model(tiny_result, tiny_dir, tmp_path):
    row = make_version(tiny_dir, tmp_path, "mlf-live")
    services.deploy(version=row, actor_name="setup")
    for i in (0, 7, 42):
        features = {**feature_row(tiny_result, i), "efficiency_ratio": 0.3}  # extra keys are ignored
        confidence, version = inference.score(features)
        expected = tiny_result.model.predict_proba(np.array([[features[f] for f in FEATURES]]))[0]
        assert version == "mlf-live" and confidence == pytest.approx(expected, abs=1e-6)
        assert inference.passes(confidence) is (confidence >= 0.65)
    assert inference.passes(0.7, 0.65) and not inference.passes(0.6, 0.65)
    assert inference.current_threshold() == 0.65


def test_a_new_deploy_is_picked_up_on_the_next_call(tiny_result, tiny_dir, tmp_path, monkeypatch):
    services.deploy(version=make_version(tiny_dir, tmp_path, "mlf-a"), actor_name="setup")
    loads = []
    real_load = inference._load
    monkeypatch.setattr(inference, "_load", lambda *a: loads.append(a[1]) or real_load(*a))
    features = feature_row(tiny_result)
    assert inference.score(features)[1] == "mlf-a"
    assert inference.score(features)[1] == "mlf-a"
    services.deploy(version=make_version(tiny_dir, tmp_path, "mlf-b"), actor_name="setup")
    assert inference.score(features)[1] == "mlf-b"
    assert loads == ["mlf-a", "mlf-b"]  # loaded once per deployed version, not once per call


def test_a_corrupted_model_is_not_used_and_does_not_crash(tiny_result, tiny_dir, tmp_path, pushes, monkeypatch):
    services.deploy(version=make_version(tiny_dir, tmp_path, "mlf-bad"), actor_name="setup")
    (tmp_path / "mlf-bad" / "xgboost.json").write_text("{}")
    pushes.clear()
    loads = []
    real_load = inference._load
    monkeypatch.setattr(inference, "_load", lambda *a: loads.append(a[1]) or real_load(*a))
    assert inference.score(feature_row(tiny_result)) == (None, "")
    assert inference.score(feature_row(tiny_result)) == (None, "")
    assert loads == ["mlf-bad"]  # one failed load, remembered: one alert, not one per bar
    assert [(k, d["level"], d["source"]) for k, d in pushes] == [("alert", "error", "ml")]
    assert "mlf-bad failed to load" in pushes[0][1]["message"]
    assert inference.passes(None)


def test_a_missing_artifact_directory_is_not_used(tiny_result, tiny_dir, tmp_path, pushes):
    import shutil

    services.deploy(version=make_version(tiny_dir, tmp_path, "mlf-gone"), actor_name="setup")
    shutil.rmtree(tmp_path / "mlf-gone")
    assert inference.score(feature_row(tiny_result)) == (None, "")


def test_a_row_missing_a_feature_is_not_scored(tiny_result, tiny_dir, tmp_path):
    services.deploy(version=make_version(tiny_dir, tmp_path, "mlf-live"), actor_name="setup")
    features = feature_row(tiny_result)
    del features["dealers_bias"]
    assert inference.score(features) == (None, "")
    assert inference.score({**feature_row(tiny_result), "confluence": float("nan")}) == (None, "")


def test_only_a_model_trained_on_real_data_enforces_its_threshold(tiny_result, tiny_dir, tmp_path):
    assert not inference.enforcing()  # nothing deployed
    services.deploy(version=make_version(tiny_dir, tmp_path, "mlf-sim", trained_on="simulated"), actor_name="setup")
    assert not inference.enforcing()
    services.deploy(version=make_version(tiny_dir, tmp_path, "mlf-real"), actor_name="setup")
    assert inference.enforcing()
