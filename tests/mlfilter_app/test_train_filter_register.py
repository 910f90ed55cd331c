"""`manage.py train_filter` registers the model it trained (not deployed) unless --no-register."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from mlfilter.models import ModelVersion
from tests.shared_data import shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]


@pytest.fixture(scope="module")
def es_slice(tmp_path_factory) -> Path:
    src = shared_data() / "es" / "es_1min_close_2024-01_hmm-trading.csv"
    dst = tmp_path_factory.mktemp("data") / "es_slice.csv"
    dst.write_text("".join(src.read_text().splitlines(keepends=True)[:5001]))
    return dst


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command("train_filter", *args, "--no-progress", "--min-samples", "50", "--folds", "2", stdout=out)
    return json.loads(out.getvalue())


def test_the_trained_model_is_registered_but_not_deployed(es_slice, ml_env):
    result = run("--data", str(es_slice))
    row = ModelVersion.objects.get()
    assert row.version == result["model_version"] and row.trained_on == "real" and row.source == "cli"
    assert not row.deployed and row.metrics["summary"] == result
    assert Path(row.artifact_dir) == (ml_env / "models" / row.version).resolve()


def test_no_register_writes_files_only(es_slice, tmp_path):
    result = run("--data", str(es_slice), "--no-register", "--out", str(tmp_path / "m"))
    assert not ModelVersion.objects.exists() and (tmp_path / "m" / result["model_version"]).is_dir()
