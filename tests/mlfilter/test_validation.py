"""Walk-forward with purging and embargo; a fold's model cannot see anything after its training end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlfilter.ml.dataset import FEATURES, build_dataset, concat_datasets
from mlfilter.ml.ensemble import EnsembleConfig, EnsembleModel
from mlfilter.ml.validation import purged_kfold, time_boundaries, walk_forward

T0 = pd.Timestamp("2024-01-02", tz="UTC")
SMALL = EnsembleConfig(rf_trees=10, xgb_trees=10)


def times(minutes) -> pd.DatetimeIndex:
    return T0 + pd.to_timedelta(np.asarray(minutes), unit="min")


def test_training_rows_whose_outcome_reaches_the_test_window_are_purged():
    sig = times([0, 10, 20, 30, 40, 50, 60, 70])
    out = times([5, 15, 45, 35, 45, 55, 65, 75])  # row 2 (signal 20) resolves at 45: inside test [40, 80)
    bounds = [T0, T0 + pd.Timedelta(minutes=40), T0 + pd.Timedelta(minutes=80)]
    (fold,) = walk_forward(sig, out, bounds)
    assert fold.train.tolist() == [0, 1, 3] and fold.test.tolist() == [4, 5, 6, 7] and fold.purged == 1


def test_walk_forward_trains_only_on_the_past_and_never_shuffles():
    sig = times(np.arange(0, 600, 3))
    out = sig + pd.Timedelta(minutes=30)
    bars = pd.date_range(T0, periods=600, freq="1min")
    folds = walk_forward(sig, out, time_boundaries([bars], 4))
    assert len(folds) == 3
    for f in folds:
        assert np.all(np.diff(f.train) > 0) and np.all(np.diff(f.test) > 0)
        assert out[f.train].max() < sig[f.test].min()


def test_embargo_drops_rows_just_after_each_test_window():
    sig = times(np.arange(0, 100, 1))
    out = sig + pd.Timedelta(minutes=2)
    bounds = [T0 + pd.Timedelta(minutes=m) for m in (0, 50, 100)]
    first, _ = purged_kfold(sig, out, bounds, embargo=pd.Timedelta(minutes=10))
    # test = signals 0..49 (window lasts until 51, its last outcome); 50, 51 overlap it; 52..61 are embargoed
    assert first.test.tolist() == list(range(50))
    assert first.purged == 2 and first.embargoed == 10
    assert first.train.tolist() == list(range(62, 100))


@pytest.mark.realdata
def test_corrupting_everything_after_training_end_leaves_the_fold_model_unchanged(es_bars):
    from trading.engine.decision import decide_frame
    from trading.engine.features import compute_features, efficiency_ratio

    bars = es_bars.iloc[:9000]
    first = concat_datasets([build_dataset(bars)])
    # cut the data while a signal is open, so that fold must purge it (row 60 % in, outcome still unknown)
    late = first.iloc[int(len(first) * 0.6):]
    row = late[late["t_outcome"] - late["t_signal"] > pd.Timedelta(minutes=3)].iloc[0]
    cut = row["t_signal"] + pd.Timedelta(minutes=1)
    bounds = [bars.index[0], cut, bars.index[-1] + pd.Timedelta(minutes=1)]

    def fold_model(b: pd.DataFrame, scramble_features: bool):
        feats = compute_features(b)
        if scramble_features:
            after = feats.index >= cut
            feats.loc[after] = np.random.default_rng(7).random((after.sum(), feats.shape[1]))
        dec = decide_frame(feats, efficiency_ratio=np.asarray(efficiency_ratio(b)))
        table = concat_datasets([build_dataset(b, features=feats, decisions=dec)])
        fold = next(f for f in walk_forward(table["t_signal"], table["t_outcome"], bounds) if f.test_start == cut)
        sub = table.iloc[fold.train]
        model = EnsembleModel(SMALL).fit(sub[list(FEATURES)].to_numpy(), sub["y"].to_numpy(),
                                         sub["t_signal"].to_numpy(), sub["t_outcome"].to_numpy())
        return model, table, fold

    rng = np.random.default_rng(3)
    bad = bars.copy()
    after = bad.index >= cut
    walk = 3000 + np.cumsum(rng.normal(0, 5, after.sum()))
    bad.loc[after, "open"] = walk
    bad.loc[after, "close"] = walk + rng.normal(0, 3, after.sum())
    bad.loc[after, "high"] = bad.loc[after, ["open", "close"]].max(axis=1) + rng.random(after.sum()) * 4
    bad.loc[after, "low"] = bad.loc[after, ["open", "close"]].min(axis=1) - rng.random(after.sum()) * 4
    bad.loc[after, "volume"] = rng.integers(1, 5000, after.sum())

    clean_model, clean_table, clean_fold = fold_model(bars, False)
    dirty_model, dirty_table, dirty_fold = fold_model(bad, True)
    # the corruption really changed the data after the cut (otherwise the test proves nothing)
    assert not clean_table[clean_table["t_signal"] >= cut].reset_index(drop=True).equals(
        dirty_table[dirty_table["t_signal"] >= cut].reset_index(drop=True))
    assert clean_fold.purged > 0 and len(clean_fold.train) > 200
    probe = np.random.default_rng(11).random((500, len(FEATURES)))
    np.testing.assert_array_equal(clean_model.predict_proba(probe), dirty_model.predict_proba(probe))
    for member in ("logistic", "forest", "xgboost"):
        np.testing.assert_array_equal(clean_model.member_proba(probe)[member], dirty_model.member_proba(probe)[member])
