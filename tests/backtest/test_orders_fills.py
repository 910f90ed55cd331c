"""Order state machine, brackets and the shared fill model."""

from __future__ import annotations

import pytest

from trading.engine import fills as fm
from trading.engine.fills import FillConfig, QuoteOrder, fill_against_quote
from trading.engine.orders import Bracket, BracketPolicy, InvalidTransition, Order, OrderStatus
from trading.engine.sizing import ZERO_SIZE, contracts, vol_scale

CFG = FillConfig(slippage_ticks=1, commission_per_side=2.5)


# ---------------------------------------------------------------- state machine


def test_order_lifecycle_with_partial_fills():
    o = Order(side=1, qty=3, kind="LIMIT", price=100.0)
    o.submit()
    o.accept()
    o.fill(1, 100.0)
    assert o.status == OrderStatus.PARTIALLY_FILLED
    o.fill(2, 99.5)
    assert o.status == OrderStatus.FILLED and o.avg_fill_price == pytest.approx((100 + 2 * 99.5) / 3)


@pytest.mark.parametrize("path", [["submit", "reject"], ["cancel"], ["submit", "accept", "cancel"]])
def test_valid_terminal_paths(path):
    o = Order(side=-1, qty=1)
    for step in path:
        getattr(o, step)()
    assert not o.working


@pytest.mark.parametrize("path", [["accept"], ["submit", "accept", "fill"], ["submit", "reject", "accept"],
                                  ["cancel", "submit"]])
def test_invalid_transitions_raise(path):
    o = Order(side=1, qty=1)
    with pytest.raises(InvalidTransition):
        for step in path:
            if step == "fill":
                o.fill(1, 1.0)
                o.fill(1, 1.0)  # overfill
            else:
                getattr(o, step)()


def test_fill_on_new_order_is_invalid():
    with pytest.raises(InvalidTransition):
        Order(side=1, qty=1).fill(1, 1.0)


# ---------------------------------------------------------------- bracket


def test_bracket_geometry_breakeven_trailing_and_oco():
    pol = BracketPolicy(max_bars=3)
    b = Bracket.open(1, 2, 4800.0, 1.1, pol)  # stop 2.2 pts -> rounded away to 4797.75
    assert b.stop == 4797.75 and b.risk_points == 2.25 and b.target == 4804.5
    b.on_bar_close(high=4801.0, low=4799.0, atr_value=1.1)
    assert b.stop == 4797.75  # less than 1 R: untouched
    b.on_bar_close(high=4802.25, low=4800.0, atr_value=1.1)
    assert b.breakeven_done and b.stop == 4800.0  # trail 4802.25 - 2.2 = 4800.05 -> 4800.0 (not tighter)
    b.on_bar_close(high=4804.0, low=4802.0, atr_value=1.1)
    assert b.stop == 4801.75  # 4804 - 2.2 = 4801.8 -> rounded down to the tick
    b.on_bar_close(high=4803.0, low=4801.9, atr_value=1.1)
    assert b.stop == 4801.75  # never loosens
    assert b.time_exit_due() and b.reversal_exit_due(-1) and not b.reversal_exit_due(1)
    b.on_exit_fill("target", 4804.5)
    assert b.target_order.status == OrderStatus.FILLED and b.stop_order.status == OrderStatus.CANCELLED


def test_short_bracket_mirrors():
    b = Bracket.open(-1, 1, 4800.0, 1.0, BracketPolicy())
    assert b.stop == 4802.0 and b.target == 4796.0


# ---------------------------------------------------------------- fills (bar level)


def test_gap_through_stop_fills_at_open():
    # long position, stop 4795, bar opens at 4790 (gapped through): fill at the open, not the stop
    assert fm.stop_fill(-1, 4795.0, 4790.0, 4788.0, 4793.0, CFG) == 4790.0
    assert fm.bracket_exit(1, 4795.0, 4810.0, 4790.0, 4788.0, 4793.0, CFG) == ("stop", 4790.0)
    assert fm.stop_fill(1, 4805.0, 4808.0, 4806.0, 4810.0, CFG) == 4808.0  # buy stop gapped through


def test_stop_touched_fills_at_stop():
    assert fm.stop_fill(-1, 4795.0, 4800.0, 4794.0, 4801.0, CFG) == 4795.0
    assert fm.stop_fill(-1, 4795.0, 4800.0, 4795.25, 4801.0, CFG) is None


def test_both_legs_touched_assumes_stop_first_unless_ticks_say_otherwise():
    bar = (4800.0, 4794.0, 4811.0)  # open, low, high: both 4795 stop and 4810 target inside
    assert fm.bracket_exit(1, 4795.0, 4810.0, *bar, CFG) == ("stop", 4795.0)
    ticks = [4800.0, 4805.0, 4810.5, 4794.0]
    assert fm.bracket_exit(1, 4795.0, 4810.0, *bar, CFG, ticks=ticks) == ("target", 4810.0)
    assert fm.bracket_exit(1, 4795.0, 4810.0, *bar, CFG, ticks=[4800.0, 4794.5, 4811.0]) == ("stop", 4795.0)


def test_limit_needs_trade_through():
    assert fm.limit_fill(1, 4795.0, 4800.0, 4795.0, 4801.0, CFG) is None  # touched only
    assert fm.limit_fill(1, 4795.0, 4800.0, 4794.75, 4801.0, CFG) == 4795.0
    touch_ok = FillConfig(limit_requires_trade_through=False)
    assert fm.limit_fill(1, 4795.0, 4800.0, 4795.0, 4801.0, touch_ok) == 4795.0
    assert fm.limit_fill(-1, 4805.0, 4800.0, 4799.0, 4805.0, CFG) is None
    assert fm.limit_fill(-1, 4805.0, 4807.0, 4804.0, 4808.0, CFG) == 4807.0  # opens beyond: the open


def test_market_slippage_is_adverse_and_clamped():
    assert fm.market_fill(1, 4800.0, 4799.0, 4802.0, CFG) == 4800.25
    assert fm.market_fill(-1, 4800.0, 4799.0, 4802.0, CFG) == 4799.75
    assert fm.market_fill(1, 4800.0, 4799.0, 4800.0, CFG) == 4800.0  # open is the high: clamped
    assert fm.commission(2, CFG) == 5.0


@pytest.mark.parametrize("seed", range(5))
def test_every_bar_fill_is_inside_the_bar(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    for _ in range(2000):
        o = 4800 + rng.integers(-20, 20) * 0.25
        lo = o - rng.integers(0, 12) * 0.25
        hi = o + rng.integers(0, 12) * 0.25
        level = 4800 + rng.integers(-30, 30) * 0.25
        side = int(rng.choice([-1, 1]))
        cfg = FillConfig(slippage_ticks=float(rng.integers(0, 4)), stop_slippage_ticks=float(rng.integers(0, 3)))
        for px in (fm.market_fill(side, o, lo, hi, cfg), fm.stop_fill(side, level, o, lo, hi, cfg),
                   fm.limit_fill(side, level, o, lo, hi, cfg)):
            assert px is None or lo <= px <= hi


# ---------------------------------------------------------------- fills (quote level, paper broker)


def test_fill_against_quote():
    assert fill_against_quote(QuoteOrder(1, 1), 4800.0, 4800.25, 4800.0, CFG).price == 4800.5
    assert fill_against_quote(QuoteOrder(-1, 2), 4800.0, 4800.25, 4800.0, CFG).commission == 5.0
    assert fill_against_quote(QuoteOrder(1, 1, "LIMIT", 4799.0), 4800.0, 4800.25, 4799.0, CFG) is None
    assert fill_against_quote(QuoteOrder(1, 1, "LIMIT", 4799.0), 4800.0, 4800.25, 4798.75, CFG).price == 4799.0
    assert fill_against_quote(QuoteOrder(1, 1, "LIMIT", 4801.0), 4800.0, 4800.25, None, CFG).price == 4800.25
    assert fill_against_quote(QuoteOrder(-1, 1, "STOP", 4795.0), 4796.0, 4796.25, 4796.0, CFG) is None
    assert fill_against_quote(QuoteOrder(-1, 1, "STOP", 4795.0), 4793.0, 4793.25, 4793.0, CFG).price == 4793.0
    assert fill_against_quote(QuoteOrder(1, 1), 4801.0, 4800.0, None, CFG) is None  # crossed book
    assert fill_against_quote(QuoteOrder(-1, 1, "stop", 4795.0), 4793.0, 4793.25, 4793.0, CFG).price == 4793.0


# ---------------------------------------------------------------- sizing


def test_sizing_risk_fraction_cap_and_zero():
    assert contracts(50_000, 2.0).qty == 2  # 250 / 100 = 2.5 -> 2
    assert contracts(50_000, 2.0, max_position=2, current_exposure=1).qty == 1
    assert contracts(50_000, 1.0, max_position=5).qty == 5
    small = contracts(50_000, 6.0)  # 250 / 300 -> 0
    assert small.qty == 0 and small.reason == ZERO_SIZE
    assert contracts(50_000, 1.0, max_position=5, atr_percentile=0.95).qty == 2  # half risk in high vol
    assert vol_scale(0.5) == 1.0 and vol_scale(0.8) == 0.75 and vol_scale(float("nan")) == 1.0
