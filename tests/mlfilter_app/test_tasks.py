"""The ml-queue tasks: retraining on stored bars and the drift check."""

from __future__ import annotations

import datetime as dt

import pytest

from mlfilter import tasks
from mlfilter.ml.dataset import FEATURES
from mlfilter.models import ModelVersion, TrainingRun
from tests.mlfilter_app.conftest import make_version
from trading.models import Bar, Signal

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)


def store_bars(frame, source: str = "sim") -> list[Bar]:
    return Bar.objects.bulk_create(
        Bar(symbol="ES", ts=ts.to_pydatetime(), open=r.open, high=r.high, low=r.low, close=r.close, volume=r.volume,
            buy_volume=r.buy_volume, sell_volume=r.sell_volume, bid=r.bid, ask=r.ask, source=source)
        for ts, r in frame.iterrows())


def test_retraining_with_too_few_bars_is_skipped_with_the_reason(sim_bars, pushes):
    store_bars(sim_bars.iloc[:600])
    assert tasks.retrain.delay().get().endswith("skipped")
    run = TrainingRun.objects.get()
    assert run.status == "skipped" and "need at least 1000" in run.message and run.finished_at is not None
    assert not ModelVersion.objects.exists()


def test_retraining_with_no_bars_is_skipped():
    tasks.retrain.delay()
    assert TrainingRun.objects.get().message == "skipped: no stored ES bars"


def test_retraining_registers_and_auto_deploys_with_progress(sim_bars, pushes):
    store_bars(sim_bars)
    tasks.retrain.delay(min_samples=100)
    run = TrainingRun.objects.get()
    row = ModelVersion.objects.get()
    assert run.status == "succeeded" and run.model == row and run.progress == 1.0 and "deployed" in run.message
    assert row.deployed and row.trained_on == "simulated" and row.source == "schedule"  # bars came from the sim feed
    progress = [d for k, d in pushes if k == "alert" and "progress" in d]
    assert progress and progress[-1]["progress"] == 1.0 and all(d["source"] == "ml" for d in progress)
    assert len(progress) <= 5  # throttled


def make_signals(n: int, features: dict[str, float]) -> None:
    for i in range(n):
        bar = Bar.objects.create(symbol="ES", ts=T0 + dt.timedelta(minutes=i), open=1, high=1, low=1, close=1,
                                 volume=1, source="sim")
        Signal.objects.create(bar=bar, symbol="ES", ts=bar.ts, features={k: v for k, v in features.items()
                                                                         if k != "confluence"},
                              confluence=features["confluence"], label="BUY", direction=1)


def test_drift_check_without_a_model_does_nothing():
    assert tasks.drift_check.delay().get() == "no_model"


def test_drift_check_stores_the_report_and_alerts_on_drift(tiny_result, tiny_dir, tmp_path, pushes,
                                                           django_capture_on_commit_callbacks):
    row = make_version(tiny_dir, tmp_path, "mlf-live", deployed=True,
                       drift_baseline=tiny_result.model.meta["drift_baseline"])
    make_signals(40, {name: 0.99 for name in FEATURES})  # every feature pinned at one extreme
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.drift_check.delay().get() == "alert"
    row.refresh_from_db()
    assert set(row.last_drift["psi"]) == set(FEATURES) and row.last_drift["live_samples"] == 40
    assert row.last_drift["alert"] and row.last_drift_at is not None and row.last_drift["model_version"] == "mlf-live"
    assert [(k, d["level"]) for k, d in pushes] == [("alert", "warning")] and "drift" in pushes[0][1]["message"]


def test_drift_check_with_few_signals_records_why_it_did_not_judge(tiny_result, tiny_dir, tmp_path, pushes):
    row = make_version(tiny_dir, tmp_path, "mlf-live", deployed=True,
                       drift_baseline=tiny_result.model.meta["drift_baseline"])
    make_signals(5, {name: 0.5 for name in FEATURES})
    assert tasks.drift_check.delay().get() == "ok"
    row.refresh_from_db()
    assert "at least 30" in row.last_drift["skipped"] and not pushes


def test_drift_check_compares_the_live_hit_rate_with_what_the_model_expected(tiny_result, tiny_dir, tmp_path,
                                                                            pushes):
    from trading.models import Trade

    row = make_version(tiny_dir, tmp_path, "mlf-live", deployed=True,
                       drift_baseline=tiny_result.model.meta["drift_baseline"])
    make_signals(40, {name: 0.5 for name in FEATURES})
    for signal in Signal.objects.all():  # scored at 0.6 each, and every trade was stopped out
        signal.ml_confidence, signal.model_version = 0.6, "mlf-live"
        signal.save()
        Trade.objects.create(symbol="ES", side="LONG", qty=1, entry_time=signal.ts, exit_time=signal.ts,
                             entry_price=1, exit_price=1, pnl_usd=-5, commission_usd=5, exit_reason="stop",
                             signal=signal)
    assert tasks.drift_check.delay().get() == "alert"
    row.refresh_from_db()
    hit = row.last_drift["hit_rate"]
    assert hit["expected"] == pytest.approx(0.6) and hit["overall"] == 0.0
