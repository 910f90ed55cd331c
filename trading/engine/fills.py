"""The one fill model shared by the backtester (bar level) and the paper broker (quote level).

Keeping both in one module means a strategy cannot look better in a backtest than on paper because
the two simulators disagree. The rules, all chosen to be pessimistic where the data cannot tell:

* Market orders fill at the next available price (the next bar's open in a backtest, the far side of
  the quote on paper) plus ``slippage_ticks`` against the trader.
* Stop orders fill at the stop, or at the open when the bar gaps through it (a stop is a market
  order once triggered, so a gap makes it worse, never better).
* Limit orders fill only when price trades *through* the limit (strictly beyond it) because touching
  it says nothing about our place in the queue; ``limit_requires_trade_through=False`` relaxes that.
  A bar that opens beyond the limit fills at the open (price improvement is real there).
* When one bar touches both the stop and the target of a bracket, the stop is assumed first unless
  tick data inside the bar show the order of events.
* Every bar-level fill is clamped into the bar's [low, high]: a simulated fill outside the range that
  actually traded would be fiction.

ES contract constants come from ``trading.engine.instrument.ES`` (tick 0.25 points, $12.50 a tick,
$50 a point). Commission is charged per contract per side (default $2.50).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trading.engine.instrument import ES

TICK_SIZE = ES.tick_size
TICK_VALUE = ES.tick_value
POINT_VALUE = ES.point_value

BUY, SELL = 1, -1
MARKET, LIMIT, STOP = "MARKET", "LIMIT", "STOP"

__all__ = ["BUY", "LIMIT", "MARKET", "POINT_VALUE", "SELL", "STOP", "TICK_SIZE", "TICK_VALUE", "Fill", "FillConfig",
           "QuoteOrder", "bracket_exit", "clamp", "commission", "fill_against_quote", "limit_fill", "market_fill",
           "stop_fill"]


@dataclass(frozen=True)
class FillConfig:
    """Knobs of the fill model; defaults are the conservative ones the backtest and paper broker use."""

    slippage_ticks: float = 1.0
    stop_slippage_ticks: float = 0.0
    commission_per_side: float = ES.commission_per_side
    limit_requires_trade_through: bool = True
    tick_size: float = TICK_SIZE
    point_value: float = POINT_VALUE

    def __post_init__(self) -> None:
        if self.slippage_ticks < 0 or self.stop_slippage_ticks < 0:
            raise ValueError("slippage ticks must be >= 0")
        if self.commission_per_side < 0:
            raise ValueError("commission_per_side must be >= 0")
        if not self.tick_size > 0 or not self.point_value > 0:
            raise ValueError("tick_size and point_value must be > 0")


NO_COSTS = FillConfig(slippage_ticks=0.0, stop_slippage_ticks=0.0, commission_per_side=0.0)


@dataclass(frozen=True)
class Fill:
    """One execution: signed side (+1 buy, -1 sell), quantity, price and the commission charged."""

    side: int
    qty: int
    price: float
    commission: float


def commission(qty: int, config: FillConfig) -> float:
    """Commission for ``qty`` contracts on one side."""
    return abs(qty) * config.commission_per_side


def clamp(price: float, low: float, high: float) -> float:
    """``price`` forced into [low, high]; fills are never outside what traded."""
    return low if price < low else high if price > high else price


# ---------------------------------------------------------------- bar level (backtest)


def market_fill(side: int, bar_open: float, low: float, high: float, config: FillConfig) -> float:
    """Price of a market order executed at this bar's open, slipped against ``side``, clamped to the bar."""
    return clamp(bar_open + side * config.slippage_ticks * config.tick_size, low, high)


def stop_fill(side: int, stop: float, bar_open: float, low: float, high: float, config: FillConfig) -> float | None:
    """Fill price of a stop order (``side`` is the stop order's side) in this bar, or None if not triggered.

    A sell stop (protecting a long) triggers when the low reaches the stop; if the bar opens below
    the stop the gap fills at the open. A buy stop mirrors it.
    """
    slip = config.stop_slippage_ticks * config.tick_size
    if side == SELL:
        if low > stop:
            return None
        price = (bar_open if bar_open < stop else stop) - slip
    else:
        if high < stop:
            return None
        price = (bar_open if bar_open > stop else stop) + slip
    return clamp(price, low, high)


def limit_fill(side: int, limit: float, bar_open: float, low: float, high: float, config: FillConfig) -> float | None:
    """Fill price of a limit order in this bar, or None when price did not trade through it."""
    through = config.limit_requires_trade_through
    if side == BUY:
        if bar_open <= limit and (bar_open < limit or not through):
            return clamp(bar_open, low, high)
        if low < limit or (not through and low <= limit):
            return clamp(limit, low, high)
        return None
    if bar_open >= limit and (bar_open > limit or not through):
        return clamp(bar_open, low, high)
    if high > limit or (not through and high >= limit):
        return clamp(limit, low, high)
    return None


def bracket_exit(position_side: int, stop: float, target: float, bar_open: float, low: float, high: float,
                 config: FillConfig, ticks: Iterable[float] | None = None) -> tuple[str, float] | None:
    """Which leg of an OCO bracket fills in this bar: ``("stop"|"target", price)`` or None.

    ``position_side`` is the side of the open position (+1 long). When both legs are reachable the
    stop wins, unless ``ticks`` (the bar's trade prices in time order) show the target traded first.
    """
    exit_side = -position_side
    stop_px = stop_fill(exit_side, stop, bar_open, low, high, config)
    target_px = limit_fill(exit_side, target, bar_open, low, high, config)
    if stop_px is None or target_px is None:
        if stop_px is not None:
            return "stop", stop_px
        if target_px is not None:
            return "target", target_px
        return None
    # Both reachable. A gap at the open decides it unambiguously; otherwise ask the ticks, else stop first.
    if (position_side == BUY and bar_open <= stop) or (position_side == SELL and bar_open >= stop):
        return "stop", stop_px
    gap_target = bar_open > target if position_side == BUY else bar_open < target
    if gap_target:
        return "target", target_px
    if ticks is not None:
        through = config.limit_requires_trade_through
        for px in ticks:
            hit_stop = px <= stop if position_side == BUY else px >= stop
            if hit_stop:
                return "stop", stop_px
            if position_side == BUY:
                hit_target = px > target or (not through and px >= target)
            else:
                hit_target = px < target or (not through and px <= target)
            if hit_target:
                return "target", target_px
    return "stop", stop_px


# ---------------------------------------------------------------- quote level (paper broker)


@dataclass(frozen=True)
class QuoteOrder:
    """The minimum the quote-level model needs to know about a working order."""

    side: int
    qty: int
    kind: str = MARKET
    price: float | None = None


def fill_against_quote(order: QuoteOrder, bid: float, ask: float, last: float | None,
                       config: FillConfig | None = None) -> Fill | None:
    """Fill ``order`` against the current top of book (paper broker), or None when it does not execute.

    Market orders cross the spread (buy at ask, sell at bid) plus slippage. Limits execute when
    marketable against the quote (price = the quote, at least as good as the limit) or when the last
    trade went through the limit (price = the limit). Stops trigger on the last trade (or the quote
    when no trade is known) and then execute like market orders, never better than the stop.
    """
    cfg = config or FillConfig()
    if order.qty <= 0:
        raise ValueError("order qty must be positive")
    if not (bid > 0 and ask > 0 and ask >= bid):
        return None  # a crossed or empty book is not something to fill against
    slip = cfg.slippage_ticks * cfg.tick_size
    side = order.side
    kind = str(order.kind).upper()  # adapters may carry "market"/"limit"/"stop" in lower case
    if kind == MARKET:
        price = ask + slip if side == BUY else bid - slip
    elif kind == LIMIT:
        if order.price is None:
            raise ValueError("limit order needs a price")
        limit = order.price
        through = cfg.limit_requires_trade_through
        if side == BUY and ask <= limit:
            price = ask
        elif side == SELL and bid >= limit:
            price = bid
        elif last is not None and ((side == BUY and (last < limit or (not through and last <= limit)))
                                   or (side == SELL and (last > limit or (not through and last >= limit)))):
            price = limit
        else:
            return None
    elif kind == STOP:
        if order.price is None:
            raise ValueError("stop order needs a price")
        stop = order.price
        ref = last if last is not None else (ask if side == BUY else bid)
        if (side == BUY and ref < stop) or (side == SELL and ref > stop):
            return None
        stop_slip = cfg.stop_slippage_ticks * cfg.tick_size
        price = max(stop, ask) + stop_slip if side == BUY else min(stop, bid) - stop_slip
    else:
        raise ValueError(f"unknown order kind {order.kind!r}")
    return Fill(side=side, qty=order.qty, price=price, commission=commission(order.qty, cfg))
