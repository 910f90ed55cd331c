"""services.record_snapshot: what a snapshot stores, what it writes, what it tells the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest

from options import selectors, services
from options.analytics.chain import Chain
from options.analytics.snapshot import analyze
from options.models import BiasSettings, OptionsSnapshot
from tests.options_app.conftest import SPX_ASOF, spx_result


def test_a_valid_synthetic_snapshot_stores_metrics_profile_cycles_and_basis(db, pushes, options_env,
                                                                             django_capture_on_commit_callbacks):
    chain, result = spx_result(es_price=5815.0)
    with django_capture_on_commit_callbacks(execute=True):
        row = services.record_snapshot(result=result, source="synthetic", simulated=True, chain=chain,
                                       es_price=5815.0)
    row.refresh_from_db()
    assert row.valid and row.simulated and row.errors == []
    assert row.dealer_bias_score == pytest.approx(result.dealer_bias_score)
    assert row.gamma_flip == pytest.approx(result.gamma_flip) and row.call_wall == result.call_wall
    assert row.es_basis == pytest.approx(15.0) and row.spot == pytest.approx(5800.0)
    assert len(row.profile) == len(result.profile) and "calendar" in row.cycles
    assert (options_env / "options_snapshots" / "SPX_20250304T150000.parquet").exists()
    kinds = [kind for kind, _ in pushes]
    assert kinds == ["bias"]
    message = pushes[0][1]
    assert message["underlying"] == "SPX" and message["score"] == row.dealer_bias_score
    assert message["gamma_flip_es"] == pytest.approx(round((row.gamma_flip + 15.0) * 4) / 4)
    assert message["call_wall_es"] == row.call_wall + 15.0 and message["put_wall_es"] == row.put_wall + 15.0
    assert message["total_gex_bn"] == row.total_gex_bn and message["profile"]["strike"]
    assert {"max_pain", "risk_reversal_25d", "share_0dte", "days_to_opex"} <= set(message["cycles"])


def test_the_live_basis_of_the_snapshot_wins_over_the_configured_one(db, pushes, options_env,
                                                                      django_capture_on_commit_callbacks):
    BiasSettings.objects.create(es_spx_basis=30.0)
    chain, result = spx_result(es_price=5815.0)  # synthetic chain built with a 15-point basis
    with django_capture_on_commit_callbacks(execute=True):
        row = services.record_snapshot(result=result, source="synthetic", simulated=True, es_price=5815.0)
    flip = next(level for level in selectors.levels_for_es() if level["label"] == "SPX gamma flip")
    assert flip["price"] == pytest.approx(round((row.gamma_flip + 15.0) * 4) / 4)
    overlay = (options_env / "overlays" / "levels.csv").read_text().splitlines()
    assert overlay[0] == "price,label,color" and f"{flip['price']:.2f},SPX gamma flip," in overlay[1]


def test_an_empty_chain_is_stored_invalid_and_neutral_and_raises_an_alert(db, pushes, options_env,
                                                                          django_capture_on_commit_callbacks):
    empty = Chain(underlying="SPX", spot=5800.0, asof=SPX_ASOF)
    with django_capture_on_commit_callbacks(execute=True):
        row = services.record_snapshot(result=analyze(empty), source="synthetic", simulated=True, chain=empty)
    row.refresh_from_db()
    assert not row.valid and row.errors and row.dealer_bias_score == 0.5
    assert row.gamma_flip is None and row.profile == []
    assert [kind for kind, _ in pushes] == ["alert"]
    assert "invalid" in pushes[0][1]["message"]
    assert not (options_env / "overlays" / "levels.csv").exists()
    assert selectors.bias_at(SPX_ASOF) is None


def test_an_invalid_result_never_carries_a_score_from_partial_data(db, pushes):
    chain, result = spx_result()
    result.valid, result.errors, result.dealer_bias_score = False, ["half a chain"], 0.93
    row = services.record_snapshot(result=result, source="synthetic", simulated=True)
    assert row.dealer_bias_score == 0.5 and row.gamma_flip is None and row.errors == ["half a chain"]


def test_an_invalid_spx_chain_keeps_the_previous_overlay(db, pushes, options_env,
                                                        django_capture_on_commit_callbacks):
    chain, result = spx_result()
    with django_capture_on_commit_callbacks(execute=True):
        services.record_snapshot(result=result, source="synthetic", simulated=True, chain=chain)
    before = (options_env / "overlays" / "levels.csv").read_text()
    later = SPX_ASOF + dt.timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        services.record_snapshot(result=analyze(Chain(underlying="SPX", spot=5800.0, asof=later)),
                                 source="synthetic", simulated=True)
    assert (options_env / "overlays" / "levels.csv").read_text() == before
    assert OptionsSnapshot.objects.filter(valid=False).count() == 1


def test_an_ndx_snapshot_has_no_es_levels_and_leaves_the_overlay_alone(db, pushes, options_env,
                                                                       django_capture_on_commit_callbacks):
    chain, result = spx_result(underlying="NDX")
    with django_capture_on_commit_callbacks(execute=True):
        row = services.record_snapshot(result=result, source="synthetic", simulated=True, es_price=5815.0)
    assert row.valid and row.es_basis is None
    assert pushes[0][1]["levels"] == [] and pushes[0][1]["gamma_flip_es"] is None
    assert not (options_env / "overlays" / "levels.csv").exists()


def test_a_failed_insert_removes_the_parquet_file(db, options_env, monkeypatch):
    chain, result = spx_result()

    def boom(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(OptionsSnapshot.objects, "update_or_create", boom)
    with pytest.raises(RuntimeError):
        services.record_snapshot(result=result, source="synthetic", simulated=True, chain=chain)
    assert list((options_env / "options_snapshots").glob("*")) == []


def test_a_chain_far_smaller_than_the_previous_one_is_stored_invalid_and_neutral(db, pushes, options_env,
                                                                               django_capture_on_commit_callbacks):
    chain, result = spx_result(es_price=5815.0)
    with django_capture_on_commit_callbacks(execute=True):
        services.record_snapshot(result=result, source="synthetic", simulated=True, chain=chain)
    later = dt.timedelta(minutes=5)
    part = Chain(underlying=chain.underlying, spot=chain.spot, asof=chain.asof + later,
                 contracts=chain.contracts.iloc[: len(chain.contracts) // 3])
    with django_capture_on_commit_callbacks(execute=True):
        row = services.record_snapshot(result=analyze(part), source="synthetic", simulated=True, chain=part)
    assert not row.valid and row.dealer_bias_score == 0.5 and row.gamma_flip is None
    assert any("fewer than half" in e for e in row.errors)
    assert selectors.bias_at(chain.asof + later) is None  # the partial chain leaves the bias neutral
