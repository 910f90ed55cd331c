"""selectors.bias_at and levels_for_es: what the trading cycle and the ES chart read."""

from __future__ import annotations

import datetime as dt

from options import selectors
from tests.options_app.conftest import make_snapshot

T = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def test_bias_at_picks_the_latest_snapshot_at_or_before(db):
    make_snapshot(T - 20 * MIN, 0.30)
    make_snapshot(T - 10 * MIN, 0.70)
    make_snapshot(T + 1 * MIN, 0.90)  # later: not known yet
    make_snapshot(T - 1 * MIN, 0.10, underlying="NDX")  # the bias is SPX's
    assert selectors.bias_at(T) == 0.70
    assert selectors.bias_at(T - 10 * MIN) == 0.70  # at the same instant counts
    assert selectors.bias_at(T - 15 * MIN) == 0.30


def test_an_invalid_newest_snapshot_leaves_the_bias_neutral(db):
    make_snapshot(T - 10 * MIN, 0.70)
    make_snapshot(T - 5 * MIN, 0.5, valid=False)  # the chain failed: no older score stays in force
    assert selectors.bias_at(T) is None
    assert selectors.bias_at(T - 6 * MIN) == 0.70


def test_bias_at_is_none_when_stale_or_absent(db):
    assert selectors.bias_at(T) is None
    make_snapshot(T - 31 * MIN, 0.80)
    assert selectors.bias_at(T) is None
    assert selectors.bias_at(T - 2 * MIN) == 0.80  # 29 minutes old is still fresh


def test_levels_for_es_apply_the_basis_and_round_to_the_tick(db):
    make_snapshot(T, 0.6, gamma_flip=5790.13, call_wall=5850.0, put_wall=5700.0, es_basis=14.5)
    make_snapshot(T + MIN, 0.5, valid=False)
    levels = selectors.levels_for_es()
    assert levels == [
        {"price": 5804.75, "label": "SPX gamma flip", "color": "#F2C94C"},
        {"price": 5864.5, "label": "SPX call wall", "color": "#27AE60"},
        {"price": 5714.5, "label": "SPX put wall", "color": "#E5484D"},
    ]
    assert selectors.levels_for_es(at=T - MIN) == []


def test_levels_fall_back_to_the_configured_basis(db):
    from options.models import BiasSettings

    BiasSettings.objects.create(es_spx_basis=20.0)
    make_snapshot(T, 0.6, gamma_flip=5800.0, call_wall=5850.0, put_wall=None)
    assert [(lv["label"], lv["price"]) for lv in selectors.levels_for_es()] == [
        ("SPX gamma flip", 5820.0), ("SPX call wall", 5870.0)]


def test_history_is_oldest_first_and_limited(db):
    for i in range(5):
        make_snapshot(T + i * MIN, 0.1 * i)
    history = selectors.snapshot_history("spx", limit=3)
    assert [round(r.dealer_bias_score, 1) for r in history] == [0.2, 0.3, 0.4]
