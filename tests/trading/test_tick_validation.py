import math

import pytest

from trading.engine import ticks as t
from trading.engine.ticks import Tick, TickValidator

S = t.NS_PER_S


def _ok(validator: TickValidator, **kw) -> str | None:
    base = {"ts_ns": 10 * S, "price": 4800.0, "size": 1.0}
    base.update(kw)
    return validator.check(Tick(**base))


@pytest.mark.parametrize(("fields", "reason"), [
    ({"price": math.nan}, t.NOT_FINITE),
    ({"price": math.inf}, t.NOT_FINITE),
    ({"price": 0.0}, t.NON_POSITIVE),
    ({"price": -4800.0}, t.NON_POSITIVE),
    ({"price": 4800.1}, t.OFF_GRID),
    ({"size": 0.0}, t.BAD_SIZE),
    ({"bid": 4800.25, "ask": 4800.0}, t.CROSSED),
    ({"bid": 4800.0, "ask": 4800.0}, t.CROSSED),
])
def test_bad_ticks_are_refused_with_their_reason(fields, reason):
    assert _ok(TickValidator(), **fields) == reason


def test_out_of_order_timestamp_is_refused():
    v = TickValidator()
    assert _ok(v, ts_ns=10 * S) is None
    assert _ok(v, ts_ns=9 * S) == t.OUT_OF_ORDER


def test_equal_timestamps_are_normal_but_a_repeated_sequence_is_a_duplicate():
    v = TickValidator()
    assert _ok(v, seq=1) is None
    assert _ok(v, seq=2) is None  # same timestamp, next trade
    assert _ok(v, seq=2) == t.DUPLICATE


def _quoted(price: float) -> dict:
    return {"price": price, "bid": price - 0.25, "ask": price, "size": 20.0}


def test_a_jump_outside_the_band_is_quarantined_until_the_quote_and_volume_confirm_it():
    v = TickValidator(band_pct=1.0, reanchor_after_n=3, reanchor_volume=50.0)
    assert _ok(v, price=4800.0) is None
    assert _ok(v, ts_ns=11 * S, **_quoted(5000.0)) == t.JUMP
    assert _ok(v, ts_ns=12 * S, price=4800.25) is None  # the bad print did not move the reference
    assert _ok(v, ts_ns=13 * S, **_quoted(5000.0)) == t.JUMP
    assert _ok(v, ts_ns=14 * S, **_quoted(5000.25)) == t.JUMP
    assert _ok(v, ts_ns=15 * S, **_quoted(5000.0)) is None  # third agreeing print, 60 lots, book moved


def test_agreeing_prints_without_the_quote_or_the_volume_do_not_move_the_band():
    stale_book = TickValidator(band_pct=1.0, reanchor_after_n=3)
    assert _ok(stale_book, price=4800.0) is None
    for i in range(10):  # the prints jumped, the book stayed at 4800: a bad print run, not a market
        assert _ok(stale_book, ts_ns=(11 + i) * S, price=5000.0, bid=4799.75, ask=4800.0, size=20.0) == t.JUMP
    no_volume = TickValidator(band_pct=1.0, reanchor_after_n=3, reanchor_volume=50.0)
    assert _ok(no_volume, price=4800.0) is None
    for i in range(5):  # odd lots: 5 contracts in all
        assert _ok(no_volume, ts_ns=(11 + i) * S, price=5000.0, bid=4999.75, ask=5000.0, size=1.0) == t.JUMP


def test_a_sustained_50_percent_jump_is_never_accepted_by_prints():
    v = TickValidator(band_pct=2.0)
    assert _ok(v, price=4800.0) is None
    for i in range(200):
        assert _ok(v, ts_ns=(11 + i) * S, **_quoted(7200.0)) == t.JUMP


def test_a_session_gap_reanchors_the_band():
    v = TickValidator(band_pct=1.0)
    assert _ok(v, price=4800.0) is None
    assert _ok(v, ts_ns=10 * S + 3600 * S, price=4900.0) is None
