"""`manage.py train_filter`: the DESIGN section 5 JSON contract, exit codes and no partial artifacts."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.shared_data import REPO, shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]
KEYS = ["model_version", "samples", "folds", "auc", "brier", "log_loss", "precision_at_threshold",
        "recall_at_threshold", "filtered", "unfiltered"]


@pytest.fixture(scope="module")
def es_slice(tmp_path_factory) -> Path:
    """The first 5,000 minutes of the real January 2024 ES file."""
    src = shared_data() / "es" / "es_1min_close_2024-01_hmm-trading.csv"
    dst = tmp_path_factory.mktemp("data") / "es_slice.csv"
    dst.write_text("".join(src.read_text().splitlines(keepends=True)[:5001]))
    return dst


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command("train_filter", *args, "--no-progress", stdout=out)
    return json.loads(out.getvalue())


def test_json_contract_and_model_directory(es_slice, tmp_path):
    result = run("--data", str(es_slice), "--min-samples", "50", "--folds", "2", "--out", str(tmp_path / "models"),
                 "--json", str(tmp_path / "out.json"))
    assert list(result) == KEYS
    assert json.loads((tmp_path / "out.json").read_text()) == result
    for key in ("filtered", "unfiltered"):
        assert list(result[key]) == ["trades", "profit_factor", "expectancy_usd"]
    assert result["folds"] == 2 and result["samples"] >= 50 and result["unfiltered"]["trades"] > 0
    (model_dir,) = (tmp_path / "models").iterdir()
    assert model_dir.name == result["model_version"]
    assert json.loads((model_dir / "manifest.json").read_text())["model_version"] == result["model_version"]


def test_too_few_samples_fails_without_leaving_files(es_slice, tmp_path):
    with pytest.raises(CommandError, match="need at least 100000"):
        run("--data", str(es_slice), "--min-samples", "100000", "--out", str(tmp_path / "models"))
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_a_failed_save_leaves_no_partial_model(es_slice, tmp_path, monkeypatch):
    from mlfilter.ml import artifacts

    def broken(model, directory):
        (Path(directory) / "forest.skops").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(artifacts, "save_model", broken)
    with pytest.raises(CommandError, match="disk full"):
        run("--data", str(es_slice), "--min-samples", "50", "--folds", "2", "--out", str(tmp_path / "models"))
    assert list((tmp_path / "models").iterdir()) == []


def test_bad_input_exits_non_zero_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "manage.py", "train_filter", "--data", str(tmp_path / "missing.csv"),
                           "--out", str(tmp_path / "models"), "--no-progress"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "missing.csv" in lines[0]
    assert not (tmp_path / "models").exists()
