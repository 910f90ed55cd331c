"""Replay a tick file or a bar file as a live feed.

Tick files replay print by print, through the gateway's tick validation and bar builder like any
live feed. Bar files (every format ``trading.engine.loaders`` reads) replay as the closed bars they
are, through the gateway's bar validation: a bar says nothing about the order of the prices inside
it, so inventing prints for it would make up the fills; the paper broker matches them bar by bar
with the backtest's rules instead. Each bar keeps the file's length (a 5-minute file replays 5-minute
bars) and its buy/sell volume and quote when the file has them (None otherwise).

``rejected`` lists the rows the loader refused, ``(line, reason)``, for the caller to report.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from trading.engine.bars import ClosedBar, bar_interval_ns
from trading.engine.loaders import load_bars
from trading.engine.tickfile import is_tick_file, read_ticks
from trading.engine.ticks import NS_PER_S, Tick


class ReplayFeed:
    source = "replay"
    simulated = False

    def __init__(self, path: Path, *, fmt: str = "auto", tz: str | None = None, symbol: str = "ES") -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.tz = tz
        self.symbol = symbol
        self.rejected: list[tuple[int, str]] = []
        self.is_ticks = fmt in ("auto", "ticks") and is_tick_file(self.path)
        self.kind = "ticks" if self.is_ticks else "bars"

    def events(self) -> Iterator[Tick | ClosedBar]:
        if self.is_ticks:
            loaded = read_ticks(self.path, tz=self.tz or "UTC")
            self.rejected = loaded.rejected
            yield from loaded.ticks
            return
        yield from self._bars()

    def _bars(self) -> Iterator[ClosedBar]:
        result = load_bars(self.path, fmt=self.fmt, tz=self.tz)
        self.rejected = [(r.line, r.reason) for r in result.rejected]
        bars = result.bars
        starts = bars.index.as_unit("ns").asi8
        interval_s = max(1, bar_interval_ns(starts) // NS_PER_S)
        columns = {name: bars[name].tolist() if name in bars else [None] * len(bars)
                   for name in ("open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "bid", "ask")}
        for i, ts in enumerate(bars.index):
            yield ClosedBar(symbol=self.symbol, ts=ts.to_pydatetime(), open=columns["open"][i],
                            high=columns["high"][i], low=columns["low"][i], close=columns["close"][i],
                            volume=columns["volume"][i], buy_volume=_known(columns["buy_volume"][i]),
                            sell_volume=_known(columns["sell_volume"][i]), bid=_known(columns["bid"][i]),
                            ask=_known(columns["ask"][i]), tick_count=0, interval_s=interval_s)


def _known(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
