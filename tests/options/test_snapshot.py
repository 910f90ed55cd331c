"""analyze(): reference GEX and flips, validity rules, the CLI JSON contract, the synthetic chain."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from options.analytics.chain import Chain
from options.analytics.config import AnalysisConfig
from options.analytics.snapshot import analyze
from options.sources import ChainSource
from options.sources.cboe import parse_cboe
from options.sources.synthetic import SyntheticChainSource, synthetic_chain
from tests.options._data import chain_files, data_file

CLI_KEYS = {
    "underlying",
    "spot",
    "asof",
    "contracts",
    "total_gex_bn",
    "total_gex_model_bn",
    "gamma_flip",
    "call_wall",
    "put_wall",
    "pcr_oi",
    "pcr_volume",
    "dealer_bias_score",
}
NICK = "options/spx_quotedata_2022-07-12_nickkxsper.csv"
LUCA_NDX = "options/ndx_quotedata_2022-02-05_luca-castelli.csv"


def test_spx_reference_total_gex_and_flip():
    result = analyze(parse_cboe(data_file(NICK)).chain)
    assert result.valid
    assert result.total_gex_bn == pytest.approx(-17.49, abs=0.01)
    assert result.gamma_flip == pytest.approx(3984, rel=0.005)


def test_ndx_reference_flip_with_the_reference_time_convention():
    # The published method: T = business days / 262 from the (Saturday) file date.
    cfg = AnalysisConfig(time_convention="busdays", busdays_per_year=262)
    result = analyze(parse_cboe(data_file(LUCA_NDX)).chain, config=cfg)
    assert result.gamma_flip == pytest.approx(14686, rel=0.005)
    spx = analyze(parse_cboe(data_file(NICK)).chain, config=AnalysisConfig(time_convention="busdays"))
    assert spx.gamma_flip == pytest.approx(3984, rel=0.001)


def test_ndx_reference_flip_with_the_default_convention():
    result = analyze(parse_cboe(data_file(LUCA_NDX)).chain)
    assert result.gamma_flip == pytest.approx(14686, rel=0.005)


def test_calendar_time_keeps_a_saturday_files_monday_expiry_alive():
    # Calendar time keeps Monday 2022-02-07's NDXP expiry (trading time gives it T = 0 from a
    # Saturday); that moves the flip up by ~0.6 %, documented in expiry.py.
    result = analyze(parse_cboe(data_file(LUCA_NDX)).chain, config=AnalysisConfig(time_convention="calendar"))
    assert result.gamma_flip == pytest.approx(14686, rel=0.007)


@pytest.mark.parametrize("relative", chain_files())
def test_every_shared_chain_analyzes_to_a_valid_json_result(relative):
    result = analyze(parse_cboe(data_file(relative)).chain, vix=20.0)
    assert result.valid, result.errors
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data.keys() >= CLI_KEYS and {"profile", "cycles"} <= data.keys()
    assert 0.0 <= data["dealer_bias_score"] <= 1.0
    assert data["gamma_flip"] is not None
    assert data["profile"] and data["cycles"]["term_structure"]
    assert data["call_wall"] > 0 and data["put_wall"] > 0 and data["pcr_oi"] > 0


def test_empty_chain_is_invalid_and_neutral():
    chain = Chain(underlying="SPX", spot=4000.0, asof=dt.datetime(2024, 1, 5, 15, tzinfo=dt.UTC))
    result = analyze(chain)
    assert not result.valid and result.errors
    assert result.dealer_bias_score == 0.5
    assert result.to_dict()["dealer_bias_score"] == 0.5


def test_chain_of_only_expired_contracts_is_invalid_and_neutral():
    chain = synthetic_chain(4815.0, dt.datetime(2024, 1, 5, 15, tzinfo=dt.UTC), seed=2)
    late = Chain(
        underlying="SPX",
        spot=chain.spot,
        asof=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        contracts=chain.contracts,
    )
    result = analyze(late)
    assert not result.valid and result.dealer_bias_score == 0.5
    assert result.expired_contracts == len(chain)


def test_expired_and_zero_iv_contracts_are_excluded_from_model_gex():
    # 2023-09-14 16:31 EDT: that day's 0-DTE expired at 16:00 but still carries file gamma.
    result = analyze(parse_cboe(data_file("options/spx_quotedata_2023-09-14_carlosjimenezdiaz.csv")).chain)
    assert result.expired_contracts > 0 and result.zero_iv_contracts > 0
    assert result.total_gex_bn == pytest.approx(23.31, abs=0.01)  # file gamma: all rows, as published
    assert result.cycles["share_0dte"] == 0.0


def test_naive_asof_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Chain(underlying="SPX", spot=1.0, asof=dt.datetime(2024, 1, 5))


@pytest.mark.parametrize("underlying", ["SPX", "NDX"])
def test_synthetic_chain_is_realistic_and_goes_through_analyze(underlying):
    source = SyntheticChainSource(
        es_price=4815.0, asof=dt.datetime(2024, 1, 5, 15, tzinfo=dt.UTC), underlying=underlying, seed=1
    )
    assert isinstance(source, ChainSource)
    chain = source.fetch()
    expected_spot = 4800.0 if underlying == "SPX" else 4800.0 * 3.5
    assert chain.spot == pytest.approx(expected_spot)
    assert 5000 < len(chain) < 30000
    df = chain.contracts
    assert df["expiry"].min() == dt.datetime(2024, 1, 5)  # a 0-DTE: asof is 10:00 New York
    assert set(df["root"]) == ({"SPX", "SPXW"} if underlying == "SPX" else {"NDX", "NDXP"})
    near = df[(df["expiry"] == df["expiry"].max()) & ~df["is_call"]].sort_values("strike")
    assert near["iv"].iloc[0] > near["iv"].iloc[-1]  # put skew
    step = 100 if underlying == "SPX" else 500
    round_oi = df.loc[df["strike"] % step == 0, "open_interest"].mean()
    assert round_oi > 2 * df.loc[df["strike"] % step != 0, "open_interest"].mean()
    result = analyze(chain)
    assert result.valid and result.cycles["share_0dte"] > 0
    assert synthetic_chain(4815.0, chain.asof, underlying=underlying, seed=1).contracts.equals(df)


def test_synthetic_chain_after_the_close_has_no_0dte():
    chain = synthetic_chain(4815.0, dt.datetime(2024, 1, 5, 22, tzinfo=dt.UTC))
    assert chain.contracts["expiry"].min() > dt.datetime(2024, 1, 5)
