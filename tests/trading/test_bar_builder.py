from datetime import UTC, datetime

from trading.engine.bars import BarBuilder
from trading.engine.ticks import BUY, NS_PER_S, SELL, Tick

T0 = int(datetime(2026, 11, 23, 15, 0, tzinfo=UTC).timestamp()) * NS_PER_S


def test_ticks_make_one_minute_bars_closed_by_the_next_minute():
    builder = BarBuilder("ES")
    prints = [(0, 4800.0, 2, BUY), (10, 4801.0, 1, BUY), (20, 4799.5, 3, SELL), (59, 4800.5, 1, BUY)]
    for sec, price, size, side in prints:
        assert builder.add(Tick(ts_ns=T0 + sec * NS_PER_S, price=price, size=size, side=side)) is None
    bar = builder.add(Tick(ts_ns=T0 + 61 * NS_PER_S, price=4800.0, size=1))
    assert bar is not None
    assert bar.ts == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert (bar.open, bar.high, bar.low, bar.close) == (4800.0, 4801.0, 4799.5, 4800.5)
    assert (bar.volume, bar.buy_volume, bar.sell_volume, bar.tick_count) == (7, 4, 3, 4)


def test_flush_closes_a_quiet_bar_on_time_and_not_before():
    builder = BarBuilder("ES")
    builder.add(Tick(ts_ns=T0 + 5 * NS_PER_S, price=4800.0, size=1))
    assert builder.flush(T0 + 59 * NS_PER_S) is None
    bar = builder.flush(T0 + 60 * NS_PER_S)
    assert bar is not None and bar.close == 4800.0
    assert builder.flush(T0 + 120 * NS_PER_S) is None


def test_aggressor_side_falls_back_to_quote_rule_then_tick_rule():
    builder = BarBuilder("ES")
    builder.add(Tick(ts_ns=T0, price=4800.25, size=2, bid=4800.0, ask=4800.25))  # at ask: buy
    builder.add(Tick(ts_ns=T0 + 1, price=4800.0, size=3))  # downtick: sell
    builder.add(Tick(ts_ns=T0 + 2, price=4800.0, size=4))  # zero tick: keeps sell
    bar = builder.flush(T0 + 60 * NS_PER_S)
    assert (bar.buy_volume, bar.sell_volume) == (2, 7)
