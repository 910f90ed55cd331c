"""`manage.py ml_bootstrap`: a first, simulated model, deployed; idempotent; never breaks the setup."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from mlfilter.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db


def bootstrap(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ml_bootstrap", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_bootstrap_trains_registers_and_deploys_a_simulated_model(ml_env):
    out, _ = bootstrap("--days", "3", "--seed", "2", "--threshold", "0.3", "--strict")
    row = ModelVersion.objects.get()
    assert row.deployed and row.trained_on == "simulated" and row.source == "bootstrap"
    assert row.samples >= 300 and row.deployed_by == "ml_bootstrap" and row.threshold == 0.3
    assert (ml_env / "models" / row.version / "manifest.json").exists()
    assert row.version in out and "deployed" in out
    run = TrainingRun.objects.get()
    assert run.status == "succeeded" and run.model == row and run.progress == 1.0
    again, _ = bootstrap("--days", "3", "--strict")
    assert "nothing to do" in again and ModelVersion.objects.count() == 1


def test_a_failed_bootstrap_warns_in_one_line_and_exits_zero():
    out, err = bootstrap("--days", "0.3")  # 414 minutes of bars: ~20 signals, the minimum is 100
    assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("warning: ml_bootstrap failed")
    assert not ModelVersion.objects.exists()
    assert TrainingRun.objects.get().status == "skipped"


def test_strict_makes_a_failed_bootstrap_exit_non_zero():
    with pytest.raises(CommandError, match="ml_bootstrap failed"):
        bootstrap("--days", "0.02", "--strict")
