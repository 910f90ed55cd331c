"""Replay a tick file or a bar file as a live feed.

Tick files replay as they are. Bar files (every format `trading.engine.loaders` reads) become four
prints per bar, open -> nearer extreme -> farther extreme -> close, 15 seconds apart, so the bar
builder rebuilds exactly the bars of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from trading.engine.tickfile import is_tick_file, read_ticks
from trading.engine.ticks import NS_PER_S, Tick


class ReplayFeed:
    source = "replay"
    simulated = False

    def __init__(self, path: Path, *, fmt: str = "auto", tz: str | None = None) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.tz = tz
        self.rejected: list[tuple[int, str]] = []

    def ticks(self) -> Iterator[Tick]:
        if self.fmt in ("auto", "ticks") and is_tick_file(self.path):
            loaded = read_ticks(self.path, tz=self.tz or "UTC")
            self.rejected = loaded.rejected
            yield from loaded.ticks
            return
        yield from self._bar_ticks()

    def _bar_ticks(self) -> Iterator[Tick]:
        from trading.engine.loaders import load_bars

        result = load_bars(self.path, fmt=self.fmt, tz=self.tz)
        self.rejected = [(r.line, r.reason) for r in result.rejected]
        bars = result.bars
        starts = bars.index.as_unit("ns").asi8
        step = 15 * NS_PER_S
        for start, o, h, low, c, v in zip(starts, bars["open"], bars["high"], bars["low"], bars["close"],
                                          bars["volume"], strict=True):
            path = (o, low, h, c) if c >= o else (o, h, low, c)
            size = max(float(v), 4.0) / 4.0
            for k, price in enumerate(path):
                yield Tick(ts_ns=int(start) + k * step, price=float(price), size=size)
