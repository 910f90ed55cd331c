"""Confluence config validation and labels (DESIGN section 4)."""

from __future__ import annotations

import numpy as np
import pytest

from trading.engine.confluence import DEFAULT_WEIGHTS, ConfluenceConfig, label, labels


def test_default_weights_are_the_design_weights():
    cfg = ConfluenceConfig()
    assert cfg.weights == DEFAULT_WEIGHTS
    assert sum(cfg.weights.values()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.90, "STRONG_BUY"),
        (0.7501, "STRONG_BUY"),
        (0.75, "BUY"),
        (0.61, "BUY"),
        (0.60, "NEUTRAL"),
        (0.50, "NEUTRAL"),
        (0.40, "NEUTRAL"),
        (0.39, "SELL"),
        (0.25, "SELL"),
        (0.2499, "STRONG_SELL"),
        (0.0, "STRONG_SELL"),
    ],
)
def test_label_thresholds_are_strict(score, expected):
    assert label(score) == expected
    assert labels(np.array([score]))[0] == expected


def test_weights_must_sum_to_one():
    w = dict(DEFAULT_WEIGHTS, vwap_trend=0.25)
    with pytest.raises(ValueError, match="sum to 1"):
        ConfluenceConfig(weights=w)


def test_weights_must_be_non_negative():
    w = dict(DEFAULT_WEIGHTS, vwap_trend=0.30, dealers_bias=-0.05)
    with pytest.raises(ValueError, match=">= 0; negative or NaN: dealers_bias"):
        ConfluenceConfig(weights=w)


def test_weights_must_name_every_feature():
    w = dict(DEFAULT_WEIGHTS)
    w["gamma"] = w.pop("dealers_bias")
    with pytest.raises(ValueError, match=r"unknown \['gamma'\], missing \['dealers_bias'\]"):
        ConfluenceConfig(weights=w)


@pytest.mark.parametrize(
    "kwargs", [dict(buy=0.8), dict(sell=0.2), dict(strong_sell=0.45), dict(strong_buy=1.2)]
)
def test_thresholds_must_be_ordered(kwargs):
    with pytest.raises(ValueError, match="strong_sell < sell < buy < strong_buy"):
        ConfluenceConfig(**kwargs)


def test_custom_config_changes_labels():
    cfg = ConfluenceConfig(buy=0.55, strong_buy=0.7)
    assert cfg.label(0.56) == "BUY" and cfg.label(0.71) == "STRONG_BUY"
