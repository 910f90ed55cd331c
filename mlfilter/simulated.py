"""Simulated ES minute history for the first model, before any real bars exist.

The simulated feed (the one the demo trades on) is run flat out, with no pacing and no database
writes, through the gateway's own ``BarBuilder``; the bars come back as a bar frame in the
loaders' layout (UTC ``DatetimeIndex`` named ``ts``, bar start), ready for ``training.train``.

Why cap the trade rate (``max_rate``) far below the feed's default: the feed's 20 prints a second
would cost ~1.6 million Python-level ticks a simulated day. Bars only need enough prints to have a
shape; the feed scales each print's size up so the volume per minute is still the calibrated one.
A model trained on this history is a placeholder, labelled ``trained_on="simulated"`` everywhere
it is shown, until retraining on stored real bars replaces it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from trading.adapters.sim.feed import SimulatedFeed
from trading.engine.bars import BarBuilder, ClosedBar
from trading.engine.calendar import CmeCalendar, to_ns

# A fixed, ordinary start (a Tuesday evening session in early 2024) keeps a seed reproducible.
DEFAULT_START = datetime(2024, 1, 2, 23, 0, tzinfo=UTC)
BARS_PER_DAY = 23 * 60  # one Globex session: 17:00 to 16:00 Chicago
COLUMNS = ("open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "bid", "ask")


def simulated_bars(*, days: float, seed: int = 1, start: datetime = DEFAULT_START, max_rate: float = 0.5,
                   symbol: str = "ES") -> pd.DataFrame:
    """About ``days`` sessions of simulated 1-minute ES bars (``days * 1380`` bars)."""
    if days <= 0:
        raise ValueError(f"days must be > 0, got {days}")
    wanted = int(round(days * BARS_PER_DAY))
    feed = SimulatedFeed(start_ns=to_ns(start), seed=seed, calendar=CmeCalendar(), max_rate=max_rate)
    builder = BarBuilder(symbol)
    bars: list[ClosedBar] = []
    for tick in feed.events():
        closed = builder.add(tick)
        if closed is not None:
            bars.append(closed)
            if len(bars) >= wanted:
                break
    frame = pd.DataFrame({c: [getattr(b, c) for b in bars] for c in COLUMNS},
                         index=pd.DatetimeIndex([b.ts for b in bars], name="ts").as_unit("ns"), dtype="float64")
    return frame
