"""The signal audit trail: features x weights -> confluence -> label -> regime/strategy -> reasons
-> ML -> risk verdict -> orders -> fills -> trade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trading.models import Bar, Fill, Order, OrderIntent, Signal, StrategyConfig, Trade

TS = datetime(2024, 3, 4, 15, 30, tzinfo=UTC)
FEATURES = {"vwap_trend": 0.9, "volume_imbalance": 0.8, "price_action": 0.7, "momentum_flow": 0.85,
            "support_resistance": 0.6, "market_structure": 0.75, "session_analysis": 0.5, "dealers_bias": 0.5,
            "tick_momentum": 0.66}


def make_signal(*, ml: float | None = 0.71, minute: int = 0) -> Signal:
    ts = TS + timedelta(minutes=minute)
    bar = Bar.objects.create(symbol="ES", ts=ts, open=5000, high=5001, low=4999, close=5000.5, volume=100,
                             source="sim")
    weights = StrategyConfig().weights()
    confluence = sum(weights[k] * FEATURES[k] for k in weights)
    return Signal.objects.create(
        bar=bar, symbol="ES", ts=ts, features=FEATURES, confluence=confluence, label="BUY", direction=1,
        regime="trend", strategy="trend_follow", reasons=[f"confluence {confluence:.3f} -> BUY", "trend regime"],
        ml_confidence=ml, model_version="v7-abc" if ml is not None else "", risk_approved=True,
        risk_reasons=[])


@pytest.fixture
def chain(db) -> dict:
    signal = make_signal()
    entry = OrderIntent.objects.create(client_order_id="E1", signal=signal, bracket_id="E1", role="ENTRY",
                                       symbol="ES", side="BUY", qty=1, order_type="MKT")
    stop = OrderIntent.objects.create(client_order_id="E1-S", bracket_id="E1", role="STOP", symbol="ES",
                                      side="SELL", qty=1, order_type="STP", stop_price=4990.0)
    target = OrderIntent.objects.create(client_order_id="E1-T", bracket_id="E1", role="TARGET", symbol="ES",
                                        side="SELL", qty=1, order_type="LMT", limit_price=5020.0)
    e_order = Order.objects.create(intent=entry, client_order_id="E1", state="FILLED", filled_qty=1,
                                   avg_fill_price=5000.75)
    Order.objects.create(intent=stop, client_order_id="E1-S", state="CANCELLED")
    t_order = Order.objects.create(intent=target, client_order_id="E1-T", state="FILLED", filled_qty=1,
                                   avg_fill_price=5020.0)
    Fill.objects.create(exec_id="X-ENTRY-1", order=e_order, ts=TS + timedelta(minutes=1), side="BUY", qty=1,
                        price=5000.75, commission_usd=2.5)
    Fill.objects.create(exec_id="X-TARGET-1", order=t_order, ts=TS + timedelta(minutes=9), side="SELL", qty=1,
                        price=5020.0, commission_usd=2.5)
    trade = Trade.objects.create(symbol="ES", side="LONG", qty=1, entry_time=TS + timedelta(minutes=1),
                                 exit_time=TS + timedelta(minutes=9), entry_price=5000.75, exit_price=5020.0,
                                 pnl_usd=957.5, commission_usd=5.0, exit_reason="target", bracket_id="E1",
                                 signal=signal)
    return {"signal": signal, "trade": trade}


def test_detail_shows_the_whole_chain(viewer_client, chain):
    signal = chain["signal"]
    response = viewer_client.get(f"/signals/{signal.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    # 1. features x weights, in the configured order, with their sum equal to the stored confluence
    assert 'data-feature="vwap_trend"' in html and "0.2000" not in html.split('id="contributions"')[0]
    assert "0.1800" in html  # vwap_trend 0.20 x 0.9
    assert f'id="weighted-sum">{signal.confluence:.4f}<' in html
    assert "tick_momentum" in html  # unweighted features are listed too
    # 2-3. confluence, label, regime, strategy, reasons
    assert f"{signal.confluence:.4f}" in html and 'id="label">BUY<' in html
    assert 'id="regime">trend<' in html and 'id="strategy">trend_follow<' in html and "trend regime" in html
    # 4. ML
    assert "0.710" in html and "v7-abc" in html and "no model deployed" not in html
    # 5. risk
    assert "approved" in html
    # 6. every order of the bracket, with its state (stops and targets share the entry's bracket id)
    for coid in ("E1", "E1-S", "E1-T"):
        assert f'data-coid="{coid}"' in html
    assert "CANCELLED" in html and "FILLED" in html and "4990.0" in html and "5020.0" in html
    # 7-8. fills and the trade
    assert "X-ENTRY-1" in html and "X-TARGET-1" in html
    assert "957.50" in html and "target" in html


def test_no_model_and_a_risk_rejection_are_said_plainly(viewer_client, db):
    signal = make_signal(ml=None)
    Signal.objects.filter(pk=signal.pk).update(risk_approved=False, risk_reasons=["DAILY_LOSS_LIMIT", "COOLDOWN"])
    html = viewer_client.get(f"/signals/{signal.pk}/").content.decode()
    assert "no model deployed" in html
    assert "rejected" in html and "<li>DAILY_LOSS_LIMIT</li>" in html and "<li>COOLDOWN</li>" in html
    assert "No order: the signal did not lead to an entry." in html and "No closed trade." in html


def test_weights_come_from_the_configuration_in_force_at_the_time(viewer_client, db):
    config = StrategyConfig.load()
    config.w_vwap_trend, config.w_dealers_bias = 0.10, 0.15
    config.save()
    signal = make_signal()
    config.w_vwap_trend, config.w_dealers_bias = 0.20, 0.05  # edited after the signal
    config.save()
    html = viewer_client.get(f"/signals/{signal.pk}/").content.decode()
    assert "0.0900" in html  # 0.10 x 0.9: the weight when the signal was scored, not today's 0.20
    assert "configuration history" in html


def test_unknown_signal_is_404(viewer_client, db):
    assert viewer_client.get("/signals/999999/").status_code == 404


def test_signal_list_links_to_details_and_pages(viewer_client, db):
    signals = [make_signal(minute=i) for i in range(55)]
    first = viewer_client.get("/signals/").content.decode()
    assert f'href="/signals/{signals[-1].pk}/"' in first  # newest first
    assert f'href="/signals/{signals[0].pk}/"' not in first
    second = viewer_client.get("/signals/?page=2").content.decode()
    assert f'href="/signals/{signals[0].pk}/"' in second and "page 2 of 2" in second
