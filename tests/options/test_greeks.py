"""Black-Scholes greeks and implied vol against QuantLib (independent implementation)."""

from __future__ import annotations

import numpy as np
import pytest

from options.analytics.greeks import black_scholes, bs_gamma, implied_vol

ql = pytest.importorskip("QuantLib")


def _random_inputs(n: int = 400, seed: int = 7) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    S = rng.uniform(50, 5000, n)
    K = S * np.exp(rng.normal(0, 0.25, n))
    T = rng.uniform(1 / 365, 3, n)
    r = rng.uniform(-0.01, 0.08, n)
    q = rng.uniform(0, 0.05, n)
    sigma = rng.uniform(0.05, 1.2, n)
    call = rng.random(n) < 0.5
    return S, K, T, r, q, sigma, call


def _ql(S, K, T, r, q, sigma, call):
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, float(K))
    fwd = float(S * np.exp((r - q) * T))
    return ql.BlackCalculator(payoff, fwd, float(sigma * np.sqrt(T)), float(np.exp(-r * T)))


def test_price_and_greeks_match_quantlib_to_1e8_relative():
    S, K, T, r, q, sigma, call = _random_inputs()
    ours = black_scholes(S, K, T, r, q, sigma, call)
    ref = np.array(
        [
            (c.value(), c.delta(s), c.gamma(s), c.vega(t), c.theta(s, t))
            for c, s, t in (
                (_ql(*args), args[0], args[2]) for args in zip(S, K, T, r, q, sigma, call, strict=True)
            )
        ]
    )
    # atol covers values that are pure round-off (deep wings), scaled to each greek's units.
    for j, (name, atol) in enumerate(
        [
            ("price", 1e-10 * S),
            ("delta", 1e-12),
            ("gamma", 1e-12 / S),
            ("vega", 1e-10 * S),
            ("theta", 1e-10 * S),
        ]
    ):
        err = np.abs(getattr(ours, name) - ref[:, j])
        assert np.all(err <= 1e-8 * np.abs(ref[:, j]) + atol), (name, np.max(err / np.abs(ref[:, j])))


def test_vanna_and_charm_match_quantlib_finite_differences():
    S, K, T, r, q, sigma, call = _random_inputs(150, seed=3)
    ours = black_scholes(S, K, T, r, q, sigma, call)
    vanna, charm = [], []
    for args in zip(S, K, T, r, q, sigma, call, strict=True):
        s, k, t, rr, qq, sg, c = args
        h = 1e-4 * s  # vanna = d(vega)/dS; QuantLib's vega is analytic, so only the bump errs (~h^2)
        vanna.append(
            (_ql(s + h, k, t, rr, qq, sg, c).vega(t) - _ql(s - h, k, t, rr, qq, sg, c).vega(t)) / (2 * h)
        )
        dt_ = 1e-5  # charm = -d(delta)/dT
        charm.append(
            -(_ql(s, k, t + dt_, rr, qq, sg, c).delta(s) - _ql(s, k, t - dt_, rr, qq, sg, c).delta(s))
            / (2 * dt_)
        )
    np.testing.assert_allclose(ours.vanna, vanna, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.charm, charm, rtol=1e-5, atol=1e-6)


def test_greeks_broadcast_and_nan_where_model_undefined():
    g = black_scholes(np.array([[90.0], [110.0]]), np.array([100.0, 105.0, 95.0]), 0.5, 0.01, 0.0, 0.2, True)
    assert g.price.shape == (2, 3)
    bad = black_scholes(100.0, 100.0, np.array([0.0, -1.0, 0.5]), 0.0, 0.0, np.array([0.2, 0.2, 0.0]), False)
    assert np.isnan(bad.gamma).all() and np.isnan(bad.price).all()


def test_bs_gamma_equals_full_gamma_and_is_zero_when_undefined():
    S, K, T, r, q, sigma, call = _random_inputs(50)
    np.testing.assert_allclose(
        bs_gamma(S, K, T, r, q, sigma), black_scholes(S, K, T, r, q, sigma, call).gamma, rtol=1e-13
    )
    assert bs_gamma(100.0, 100.0, 0.0, 0.0, 0.0, 0.2) == 0.0


def test_implied_vol_round_trip():
    S, K, T, r, q, sigma, call = _random_inputs(2000, seed=11)
    price = black_scholes(S, K, T, r, q, sigma, call).price
    iv = implied_vol(price, S, K, T, r, q, call)
    # Only where the time value is resolvable in float64; deeper it is NaN or loose by construction.
    fwd_s, disc_k = S * np.exp(-q * T), K * np.exp(-r * T)
    intrinsic = np.where(call, np.maximum(fwd_s - disc_k, 0), np.maximum(disc_k - fwd_s, 0))
    resolvable = (price - intrinsic) > 1e-6 * price
    assert resolvable.mean() > 0.9
    np.testing.assert_allclose(iv[resolvable], sigma[resolvable], rtol=1e-8)


def test_implied_vol_matches_quantlib_on_quotes():
    S, K, T, r, q, sigma, call = _random_inputs(100, seed=5)
    price = black_scholes(S, K, T, r, q, sigma, call).price
    ref = [
        ql.blackFormulaImpliedStdDev(
            ql.Option.Call if c else ql.Option.Put,
            float(k),
            float(s * np.exp((rr - qq) * t)),
            float(p),
            float(np.exp(-rr * t)),
        )
        / np.sqrt(t)
        for s, k, t, rr, qq, c, p in zip(S, K, T, r, q, call, price, strict=True)
    ]
    ours = implied_vol(price, S, K, T, r, q, call)
    # QuantLib's solver stops at its default accuracy (~1e-6) and also answers where the time value
    # is below float resolution (we return NaN there), so compare loosely where both answer.
    both = np.isfinite(ours) & np.isfinite(ref)
    assert both.mean() > 0.9
    np.testing.assert_allclose(ours[both], np.asarray(ref)[both], rtol=1e-4)


def test_implied_vol_is_nan_where_no_vol_fits():
    iv = implied_vol(
        price=np.array([4.0, 101.0, 0.0, 5.0, 10.0]),  # below intrinsic, above S, zero, T<=0, ok
        S=100.0,
        K=np.array([95.0, 100.0, 100.0, 100.0, 100.0]),
        T=np.array([1.0, 1.0, 1.0, 0.0, 1.0]),
        r=0.0,
        q=0.0,
        is_call=True,
    )
    assert np.isnan(iv[:4]).all()
    assert iv[4] == pytest.approx(0.2511, abs=1e-3)
