"""The `options.snapshot` task (Celery eager in tests) with the synthetic source."""

from __future__ import annotations

import datetime as dt

import pytest

from options import selectors
from options.models import OptionsSnapshot
from options.tasks import snapshot
from trading.models import Bar

OPEN = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)  # Tuesday, regular hours
SATURDAY = dt.datetime(2025, 3, 8, 15, 0, tzinfo=dt.UTC)


def bar(ts: dt.datetime, close: float = 5815.0) -> Bar:
    return Bar.objects.create(symbol="ES", ts=ts, open=close, high=close + 1, low=close - 1, close=close,
                              volume=100, source="sim")


@pytest.mark.parametrize("underlying", ["SPX", "NDX"])
def test_the_task_stores_a_valid_synthetic_snapshot(db, settings, pushes, underlying,
                                                    django_capture_on_commit_callbacks):
    settings.MIA_FEED = "sim"
    bar(OPEN - dt.timedelta(minutes=1), 5800.0)
    bar(OPEN, 5815.0)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = snapshot.delay(underlying=underlying).get()
    row = OptionsSnapshot.objects.get()
    assert outcome == f"{underlying} {row.pk} valid"
    assert row.underlying == underlying and row.valid and row.simulated and row.source == "synthetic"
    assert row.asof == OPEN and 0 <= row.dealer_bias_score <= 1
    assert row.chain_path and row.profile
    if underlying == "SPX":
        assert row.spot == pytest.approx(5800.0) and row.es_basis == pytest.approx(15.0)
        assert selectors.bias_at(OPEN) == row.dealer_bias_score
        assert [lv["label"] for lv in selectors.levels_for_es()][0] == "SPX gamma flip"
    else:
        assert row.spot == pytest.approx(5800.0 * 3.5)
    assert pushes and pushes[-1][0] == "bias"


def test_the_task_skips_when_the_market_is_closed(db):
    bar(SATURDAY)
    assert snapshot(underlying="SPX") == "closed"
    assert not OptionsSnapshot.objects.exists()


def test_the_task_skips_without_bars_and_for_unknown_underlyings(db):
    assert snapshot(underlying="SPX") == "no_data"
    bar(OPEN)
    assert snapshot(underlying="RUT") == "no_source"
    assert not OptionsSnapshot.objects.exists()


def test_a_second_run_on_the_same_bar_changes_nothing(db, pushes):
    bar(OPEN)
    snapshot(underlying="SPX")
    assert snapshot(underlying="SPX") == "unchanged"
    assert OptionsSnapshot.objects.count() == 1


def test_the_task_is_named_and_routed_for_beat():
    from mia_site.celery import app

    assert snapshot.name == "options.snapshot"
    assert app.amqp.router.route({}, "options.snapshot")["queue"].name == "options"
    assert snapshot.retry_jitter and snapshot.retry_backoff
