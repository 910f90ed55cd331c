"""GEX sign conventions, flip, walls, bias score and gamma-cycle helpers on small hand-made chains."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from options.analytics.config import AnalysisConfig
from options.analytics.cycles import max_pain, risk_reversal_25d
from options.analytics.expiry import expiration_calendar, expiry_instants, third_friday, years_to_expiry
from options.analytics.gex import contract_gex, dealer_bias_score, gamma_flip, model_gex_at


def test_gex_formula_and_sign_conventions():
    gamma, oi, spot = np.array([0.002, 0.002]), np.array([1000.0, 1000.0]), 4000.0
    calls = np.array([True, False])
    classic = contract_gex(gamma, oi, spot, calls)
    assert classic == pytest.approx(
        [0.002 * 1000 * 100 * 4000**2 * 0.01, -0.002 * 1000 * 100 * 4000**2 * 0.01]
    )
    assert contract_gex(gamma, oi, spot, calls, "inverse") == pytest.approx(-classic)
    assert (contract_gex(gamma, oi, spot, calls, "short_all") < 0).all()


def test_flip_lies_between_put_and_call_gamma_and_matches_model_sign_change():
    strike = np.array([3900.0, 4100.0])
    t, iv, oi, calls = (
        np.array([0.05, 0.05]),
        np.array([0.2, 0.2]),
        np.array([1000.0, 1000.0]),
        np.array([False, True]),
    )
    flip = gamma_flip(4000.0, strike, t, iv, oi, calls)
    assert 3900.0 < flip < 4100.0 and flip == pytest.approx(4000.0, rel=5e-3)
    below, above = model_gex_at(np.array([flip - 1, flip + 1]), strike, t, iv, oi, calls)
    assert below < 0 < above


def test_no_flip_when_gamma_never_changes_sign():
    assert (
        gamma_flip(
            4000.0, np.array([4000.0]), np.array([0.1]), np.array([0.2]), np.array([10.0]), np.array([True])
        )
        is None
    )


def test_bias_score_is_neutral_without_inputs_and_bullish_above_flip():
    assert (
        dealer_bias_score(
            spot=4000, flip=None, net_gex_bn=0, gross_gex_bn=0, call_wall=None, put_wall=None, pcr_oi=None
        )[0]
        == 0.5
    )
    bull, _ = dealer_bias_score(
        spot=4100, flip=4000, net_gex_bn=5, gross_gex_bn=10, call_wall=4300, put_wall=4050, pcr_oi=1.0, vix=14
    )
    bear, _ = dealer_bias_score(
        spot=3900,
        flip=4000,
        net_gex_bn=-5,
        gross_gex_bn=10,
        call_wall=4000,
        put_wall=3700,
        pcr_oi=2.0,
        vix=35,
    )
    assert 0.5 < bull <= 1.0 and 0.0 <= bear < 0.5


def test_max_pain_minimises_holder_payout():
    strike = np.array([90.0, 100.0, 110.0, 90.0, 100.0, 110.0])
    calls = np.array([True, True, True, False, False, False])
    oi = np.array([10.0, 50.0, 500.0, 500.0, 50.0, 10.0])
    assert max_pain(strike, calls, oi) == 100.0


def test_risk_reversal_is_negative_for_put_skew():
    delta = np.array([0.1, 0.25, 0.4, -0.1, -0.25, -0.4])
    iv = np.array([0.15, 0.16, 0.17, 0.25, 0.22, 0.19])
    calls = delta > 0
    rr = risk_reversal_25d(calls, delta, iv)
    assert rr["risk_reversal"] == pytest.approx(0.16 - 0.22)


def test_opex_calendar():
    assert third_friday(2024, 3) == dt.date(2024, 3, 15)
    cal = expiration_calendar(dt.datetime(2024, 3, 15, 14, tzinfo=dt.UTC))
    assert cal["is_opex_day"] and cal["is_quarterly_opex_day"] and cal["days_to_monthly_opex"] == 0
    cal = expiration_calendar(dt.datetime(2024, 3, 16, 14, tzinfo=dt.UTC))
    assert cal["next_monthly_opex"] == "2024-04-19" and cal["next_quarterly_opex"] == "2024-06-21"
    assert cal["days_to_quarterly_opex"] == 97


def test_expiry_instants_pm_and_am_settlement_across_dst():
    days = np.array(["2024-01-19", "2024-01-19", "2024-07-19"], dtype="datetime64[s]")
    out = expiry_instants(days, np.array(["SPXW", "SPX", "SPXW"], dtype=object))
    assert out.tolist() == [
        dt.datetime(2024, 1, 19, 21),
        dt.datetime(2024, 1, 19, 14, 30),
        dt.datetime(2024, 7, 19, 20),
    ]


def test_years_to_expiry_floors_live_and_blanks_expired():
    import pandas as pd

    df = pd.DataFrame(
        {
            "expiry": np.array(["2024-01-05", "2024-01-05", "2024-02-16"], dtype="datetime64[s]"),
            "root": ["SPXW", "SPX", "SPXW"],
        }
    )
    t, expired = years_to_expiry(df, dt.datetime(2024, 1, 5, 20, 50, tzinfo=dt.UTC))  # 15:50 New York
    assert expired.tolist() == [False, True, False]
    assert t[0] == pytest.approx(1 / 252) and np.isnan(t[1])
    assert t[2] == pytest.approx((42 * 86400 + 600) / (365 * 86400))


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        AnalysisConfig(sign_convention="bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AnalysisConfig(flip_range=(1.1, 1.2))
