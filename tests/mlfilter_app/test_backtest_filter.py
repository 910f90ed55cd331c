"""`backtest --ml`: the deployed model when it enforces, a named one, never one trained on the bars tested,
and walk-forward retraining on each fold's past only."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from tests.mlfilter_app.conftest import make_version
from tests.shared_data import shared_data

pytestmark = [pytest.mark.django_db, pytest.mark.realdata]


def backtest(*args: str) -> dict:
    data = shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv"
    out = io.StringIO()
    call_command("backtest", "--data", str(data), *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_a_model_trained_on_the_bars_of_the_backtest_is_refused(tiny_dir, tmp_path):
    make_version(tiny_dir, tmp_path, "mlf-overlap", window_start=datetime(2013, 9, 1, tzinfo=UTC),
                 window_end=datetime(2013, 10, 20, tzinfo=UTC))
    with pytest.raises(CommandError, match="overlap this backtest") as exc:
        backtest("--ml", "mlf-overlap", "--end", "2013-10-11")
    assert "\n" not in str(exc.value)


def test_a_model_without_a_training_window_is_refused(tiny_dir, tmp_path):
    make_version(tiny_dir, tmp_path, "mlf-nowindow")
    with pytest.raises(CommandError, match="no recorded training window"):
        backtest("--ml", "mlf-nowindow", "--end", "2013-10-11")


def test_a_model_trained_before_the_bars_filters_the_entries(tiny_dir, tmp_path):
    make_version(tiny_dir, tmp_path, "mlf-earlier", window_start=datetime(2012, 1, 1, tzinfo=UTC),
                 window_end=datetime(2013, 1, 1, tzinfo=UTC))
    unfiltered = backtest("--ml", "none", "--end", "2013-10-11")
    filtered = backtest("--ml", "mlf-earlier", "--end", "2013-10-11")
    assert filtered["ml"]["model"] == "mlf-earlier" and filtered["ml"]["threshold"] is not None
    assert unfiltered["ml"]["model"] is None
    assert filtered["trades"] <= unfiltered["trades"]


def test_by_default_a_simulated_deployed_model_is_advisory_as_live_and_not_applied(tiny_dir, tmp_path):
    make_version(tiny_dir, tmp_path, "mlf-sim", trained_on="simulated", deployed=True)
    summary = backtest("--end", "2013-10-11")
    assert summary["ml"]["model"] is None and "advisory" in summary["ml"]["note"]
    with pytest.raises(CommandError, match="simulated data"):
        backtest("--ml", "mlf-sim", "--end", "2013-10-11")


def test_walk_forward_retraining_trains_each_fold_on_its_past_only():
    summary = backtest("--walk-forward", "3", "--ml", "retrain", "--ml-min-samples", "50", "--end", "2013-10-18")
    folds = summary["folds"]
    assert len(folds) == 3 and summary["ml"]["model"] == "retrained"
    assert folds[0]["ml"]["train_bars"] == 0 and "no earlier bars" in folds[0]["ml"]["note"]
    for fold in folds[1:]:
        assert fold["ml"]["train_bars"] > 0
        assert fold["ml"]["train_end"] < fold["start"]  # trained strictly before the fold it filters
    assert any("samples" in fold["ml"] for fold in folds[1:]), "no fold could train: nothing was tested"
