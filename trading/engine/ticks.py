"""Ticks and their validation.

A tick that fails validation never reaches a bar: the gateway quarantines it with the reason.
The checks run on every tick of the live feed, so they are plain float comparisons in one method
(no pandas) to stay well inside the ingest budget (see `manage.py bench --only ingest_ticks_per_s`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BUY, SELL, UNKNOWN = 1, -1, 0
NS_PER_S = 1_000_000_000


@dataclass(slots=True)
class Tick:
    """One trade print, with the quote at that moment when the feed has one.

    `ts_ns` is exchange time in UTC nanoseconds. `side` is the aggressor (BUY/SELL/UNKNOWN);
    `seq` is the feed's sequence number when it has one, used to drop redelivered prints.
    """

    ts_ns: int
    price: float
    size: float
    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None
    side: int = UNKNOWN
    seq: int | None = None


# Reasons stored on quarantined ticks (and counted on the dashboard).
NOT_FINITE = "not_finite"
NON_POSITIVE = "non_positive"
OFF_GRID = "off_grid"
BAD_SIZE = "bad_size"
CROSSED = "crossed_quote"
OUT_OF_ORDER = "out_of_order"
DUPLICATE = "duplicate"
JUMP = "jump"


class TickValidator:
    """Stateful tick checks: price sanity, the tick grid, the quote, time order and a jump band.

    Equal timestamps are legal (ES prints many trades in one millisecond); a repeated sequence
    number is a duplicate. The jump band compares with the last good price. A print outside it is
    quarantined until the new level is confirmed, or until a pause longer than `reanchor_after_s`
    (a session break) re-anchors the band, so a real gap does not blind the feed forever. Confirmed
    means all three of:

    * `reanchor_after_n` consecutive out-of-band prints that agree with each other (within the band);
    * the quote moved with them: at least half of those prints carry a bid/ask whose mid is within the
      band of the new level (a bad print rarely drags the book along; prints without a quote cannot
      confirm, so a quote-less feed re-anchors only after a pause);
    * volume: together they traded at least `reanchor_volume` contracts (a trickle of odd lots is not
      a market).

    A move of more than `hard_band_pct` (20 %, the CME's last circuit breaker) from the last good
    price is never confirmed by prints at all, only by a pause.
    """

    def __init__(self, *, tick_size: float = 0.25, band_pct: float = 2.0, reanchor_after_s: float = 900.0,
                 reanchor_after_n: int = 20, reanchor_volume: float = 50.0, hard_band_pct: float = 20.0) -> None:
        self.inv_tick = 1.0 / tick_size
        self.band = band_pct / 100.0
        self.hard_band = hard_band_pct / 100.0
        self.reanchor_after_ns = int(reanchor_after_s * NS_PER_S)
        self.reanchor_after_n = reanchor_after_n
        self.reanchor_volume = reanchor_volume
        self.last_ts = -1
        self.last_price = 0.0
        self.last_seq = -1
        self._jumps = 0
        self._jump_price = 0.0
        self._jump_volume = 0.0
        self._jump_quoted = 0

    def check(self, tick: Tick) -> str | None:
        """The reason the tick is bad, or None (and the validator's state advances)."""
        price = tick.price
        if not math.isfinite(price):
            return NOT_FINITE
        if price <= 0.0:
            return NON_POSITIVE
        steps = price * self.inv_tick
        if abs(steps - round(steps)) > 1e-6:
            return OFF_GRID
        size = tick.size
        if not math.isfinite(size) or size <= 0.0:
            return BAD_SIZE
        bid, ask = tick.bid, tick.ask
        if bid is not None and ask is not None and (
                not (math.isfinite(bid) and math.isfinite(ask)) or bid <= 0.0 or bid >= ask):
            return CROSSED
        if tick.seq is not None and tick.seq <= self.last_seq:
            return DUPLICATE
        ts = tick.ts_ns
        if ts < self.last_ts:
            return OUT_OF_ORDER
        last = self.last_price
        in_gap = ts - self.last_ts >= self.reanchor_after_ns
        if last > 0.0 and abs(price - last) > self.band * last and not in_gap and not self._confirm_jump(tick):
            return JUMP
        self._jumps = 0
        self.last_ts = ts
        self.last_price = price
        if tick.seq is not None:
            self.last_seq = tick.seq
        return None

    def _confirm_jump(self, tick: Tick) -> bool:
        """Whether this out-of-band print completes the confirmation of a new level (class docstring)."""
        price = tick.price
        if abs(price - self.last_price) > self.hard_band * self.last_price:
            self._jumps = 0
            return False
        if self._jumps and abs(price - self._jump_price) <= self.band * self._jump_price:
            self._jumps += 1
            self._jump_volume += tick.size
        else:
            self._jumps, self._jump_price, self._jump_volume, self._jump_quoted = 1, price, tick.size, 0
        bid, ask = tick.bid, tick.ask
        if bid is not None and ask is not None and abs((bid + ask) / 2.0 - price) <= self.band * price:
            self._jump_quoted += 1
        return (self._jumps >= self.reanchor_after_n and self._jump_volume >= self.reanchor_volume
                and 2 * self._jump_quoted >= self._jumps)


def classify_side(tick: Tick, last_price: float, last_side: int) -> int:
    """Aggressor side: the feed's own flag, else the quote rule, else the tick rule.

    Quote rule: a print at or above the ask was bought, at or below the bid was sold. Tick rule
    (Lee-Ready fallback): an uptick is a buy, a downtick a sell, an unchanged print keeps the side
    of the previous one.
    """
    if tick.side != UNKNOWN:
        return tick.side
    price = tick.price
    if tick.ask is not None and price >= tick.ask:
        return BUY
    if tick.bid is not None and price <= tick.bid:
        return SELL
    if price > last_price:
        return BUY
    if price < last_price:
        return SELL
    return last_side
