"""Features on the real ES file: contract columns, range, no look-ahead, batch == incremental."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trading.engine.confluence import LABELS, ConfluenceConfig
from trading.engine.features import FEATURE_COLUMNS, OUTPUT_COLUMNS, atr, compute_features, efficiency_ratio
from trading.engine.incremental import Bar, FeatureEngine


def _options_for(bars: pd.DataFrame) -> pd.DataFrame:
    """A dealer-bias series with one snapshot a day at 14:00 UTC (values cycle through 0..1).

    The real chain files are from other dates than the ES bars, so this exercises the as-of join
    (latest snapshot at or before each bar), not the bias model itself.
    """
    days = pd.date_range(bars.index[0].normalize(), bars.index[-1], freq="D", tz="UTC") + pd.Timedelta(
        hours=14
    )
    return pd.DataFrame({"dealer_bias_score": np.linspace(0.1, 0.9, len(days)) % 1.0}, index=days)


def test_output_has_the_contract_columns_on_the_bars_index(es_bars, es_features):
    assert list(es_features.columns) == list(OUTPUT_COLUMNS)
    assert len(OUTPUT_COLUMNS) == 13
    assert es_features.index.equals(es_bars.index)
    assert not es_features.isna().any().any()


def test_every_feature_is_in_unit_interval_and_varies(es_bars):
    feats = compute_features(es_bars, options=_options_for(es_bars))
    for col in OUTPUT_COLUMNS:
        assert feats[col].between(0.0, 1.0).all(), col
        assert feats[col].nunique() > 5, f"{col} is (nearly) constant"


def test_dealers_bias_is_neutral_without_options_and_as_of_with_them(es_bars, es_features):
    assert (es_features["dealers_bias"] == 0.5).all()
    opts = _options_for(es_bars)
    feats = compute_features(es_bars, options=opts)
    first_snapshot = opts.index[0]
    before = feats.index < first_snapshot
    assert (feats.loc[before, "dealers_bias"] == 0.5).all()
    t = opts.index[3]
    at = feats.index[feats.index >= t][0]
    assert feats.at[at, "dealers_bias"] == pytest.approx(opts["dealer_bias_score"].iloc[3])


def test_confluence_is_the_design_weighted_sum(es_features):
    w = ConfluenceConfig().weights
    expected = sum(w[k] * es_features[k] for k in w)
    np.testing.assert_allclose(es_features["confluence"], expected, atol=1e-12)


def test_engine_produces_every_label_on_real_es(es_features):
    labels = set(ConfluenceConfig().labels(es_features["confluence"].to_numpy()))
    assert labels == set(LABELS)


def test_incremental_engine_matches_batch_bar_by_bar(es_bars):
    opts = _options_for(es_bars)
    batch = compute_features(es_bars, options=opts)
    er = efficiency_ratio(es_bars).to_numpy()
    a = atr(es_bars).to_numpy()
    engine = FeatureEngine(options=opts)
    rows = [engine.update(rec) for rec in es_bars.reset_index().to_dict("records")]
    inc = pd.DataFrame(rows, index=es_bars.index)
    for col in OUTPUT_COLUMNS:
        np.testing.assert_allclose(inc[col].to_numpy(), batch[col].to_numpy(), rtol=0, atol=1e-9, err_msg=col)
    np.testing.assert_allclose(inc["atr"].to_numpy(), a, rtol=0, atol=1e-9)
    np.testing.assert_allclose(inc["efficiency_ratio"].to_numpy(), er, rtol=0, atol=1e-9)


def test_engine_accepts_bar_dataclasses_with_datetimes(es_bars):
    head = es_bars.iloc[:300]
    engine = FeatureEngine()
    rows = [
        engine.update(
            Bar(
                ts=ts.to_pydatetime(),
                open=r.open,
                high=r.high,
                low=r.low,
                close=r.close,
                volume=r.volume,
                bid=r.bid,
                ask=r.ask,
            )
        )
        for ts, r in zip(head.index, head.itertuples(), strict=True)
    ]
    batch = compute_features(head)
    np.testing.assert_allclose(pd.DataFrame(rows)["confluence"], batch["confluence"], atol=1e-9)


def test_no_look_ahead_truncated_or_perturbed_future_changes_nothing(es_bars, es_features):
    rng = np.random.default_rng(7)
    n = len(es_bars)
    for cut in sorted(rng.choice(np.arange(50, n - 50), size=20, replace=False)):
        head = compute_features(es_bars.iloc[: cut + 1])
        pd.testing.assert_frame_equal(
            head, es_features.iloc[: cut + 1], check_exact=False, atol=1e-12, rtol=0
        )
        noisy = es_bars.copy()
        future = noisy.index > noisy.index[cut]
        jitter = rng.integers(-8, 9, size=future.sum()) * 0.25
        for col in ("open", "high", "low", "close", "bid", "ask"):
            noisy.loc[future, col] = noisy.loc[future, col] + jitter
        noisy.loc[future, "volume"] = noisy.loc[future, "volume"] * 3 + 1
        perturbed = compute_features(noisy)
        pd.testing.assert_frame_equal(
            perturbed.iloc[: cut + 1], es_features.iloc[: cut + 1], check_exact=False, atol=1e-12, rtol=0
        )


def test_atr_is_wilder_recursion(es_bars):
    a = atr(es_bars.iloc[:50], n=14).to_numpy()
    h, lo, c = (es_bars[k].to_numpy()[:50] for k in ("high", "low", "close"))
    want = h[0] - lo[0]
    for i in range(1, 50):
        tr = max(h[i], c[i - 1]) - min(lo[i], c[i - 1])
        want = want * 13 / 14 + tr / 14
    assert a[-1] == pytest.approx(want, rel=1e-12)


def test_close_only_and_trade_flow_bars_compute(es_bars):
    flat = es_bars[["close", "volume"]].assign(
        open=es_bars["close"], high=es_bars["close"], low=es_bars["close"]
    )
    feats = compute_features(flat.iloc[:2000])
    values = feats[list(FEATURE_COLUMNS)].to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    flow = es_bars.iloc[:500].assign(buy_volume=es_bars["volume"].iloc[:500], sell_volume=0.0)
    assert (compute_features(flow)["volume_imbalance"].iloc[30:] > 0.99).all()


def test_empty_frame_gives_empty_features():
    empty = pd.DataFrame(
        {c: pd.Series(dtype=float) for c in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex([], tz="UTC"),
    )
    assert list(compute_features(empty).columns) == list(OUTPUT_COLUMNS)
