"""Simulated ES feed: trades and quotes on the 0.25 grid, shaped like the real market.

The intraday shape (volume per minute and the spread of 1-minute moves, per half hour of Chicago
time) comes from `calibration.json`, measured on the real ES files by
`scripts/calibrate_sim.py`. Prices follow a latent mid-price random walk whose per-second
variance reproduces the measured 1-minute spread; the quote is the tick grid around the mid and
each trade prints at the ask (buyer aggressor) or the bid (seller). The clock follows the CME
calendar: when the market is closed the simulated clock jumps to the next open, so the demo always
shows a trading market (the dashboard labels the data SIMULATED).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from trading.engine.calendar import CmeCalendar
from trading.engine.ticks import BUY, NS_PER_S, SELL, Tick

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
CHICAGO = ZoneInfo("America/Chicago")
TICK = 0.25


def load_calibration(path: Path = CALIBRATION_PATH) -> dict:
    return json.loads(path.read_text())


class _Shape:
    """Per half-hour (Chicago) trade rate and volatility, looked up by UTC nanoseconds."""

    def __init__(self, calibration: dict, *, max_rate: float) -> None:
        mean_size = calibration["mean_trade_size"]
        measured = calibration["buckets"]
        fallback = min(measured.values(), key=lambda b: b["volume_per_min"])
        self.rate = np.zeros(48)
        self.sigma = np.zeros(48)  # price std per sqrt(second), in points
        self.size_scale = np.ones(48)
        for bucket in range(48):
            row = measured.get(f"{bucket // 2:02d}:{bucket % 2 * 30:02d}", fallback)
            trades_per_s = row["volume_per_min"] / 60.0 / mean_size
            # Real ES prints far more trades than a dashboard needs; cap the count and scale sizes
            # up so the simulated volume per minute still matches the measured one.
            self.rate[bucket] = min(trades_per_s, max_rate)
            self.size_scale[bucket] = max(1.0, trades_per_s / max_rate)
            self.sigma[bucket] = row["dticks_std"] * TICK / math.sqrt(60.0)
        self.mean_size = mean_size
        self._utc_offset_cache: tuple[int, int] = (-1, 0)

    def bucket(self, ts_ns: int) -> int:
        hour_key = ts_ns // (3600 * NS_PER_S)
        if hour_key != self._utc_offset_cache[0]:
            from datetime import UTC, datetime

            moment = datetime.fromtimestamp(hour_key * 3600, tz=UTC).astimezone(CHICAGO)
            offset_s = int(moment.utcoffset().total_seconds())
            self._utc_offset_cache = (hour_key, offset_s)
        local_s = ts_ns // NS_PER_S + self._utc_offset_cache[1]
        return int((local_s % 86400) // 1800)


class SimulatedFeed:
    """An endless stream of simulated ES ticks starting at `start_ns` (UTC ns)."""

    source = "sim"
    simulated = True
    kind = "ticks"

    def __init__(self, *, start_ns: int, seed: int | None = None, start_price: float = 4800.0,
                 calendar: CmeCalendar | None = None, calibration: dict | None = None,
                 max_rate: float = 20.0) -> None:
        self.calendar = calendar or CmeCalendar()
        self.shape = _Shape(calibration or load_calibration(), max_rate=max_rate)
        self.rng = np.random.default_rng(seed)
        self.ts_ns = start_ns
        self.mid = start_price

    def events(self) -> Iterator[Tick]:
        rng = self.rng
        shape = self.shape
        seq = 0
        last_mid = self.mid
        while True:
            normals = rng.standard_normal(4096)
            expos = rng.standard_exponential(4096)
            uniforms = rng.random(4096)
            sizes = rng.geometric(1.0 / shape.mean_size, 4096)
            depth = rng.integers(5, 80, size=(4096, 2))
            for i in range(4096):
                bucket = shape.bucket(self.ts_ns)
                dt_s = expos[i] / shape.rate[bucket]
                next_ns = self.ts_ns + int(dt_s * NS_PER_S)
                if not self.calendar.is_open(next_ns):
                    next_ns = self.calendar.next_open(next_ns)
                    dt_s = 60.0  # a reopening gap moves the price like a quiet minute would
                self.ts_ns = next_ns
                self.mid += shape.sigma[bucket] * math.sqrt(dt_s) * normals[i]
                bid = math.floor(self.mid / TICK) * TICK
                ask = bid + TICK
                # Aggressors lean with the move: buyers lift the offer as the mid rises.
                p_buy = 0.65 if self.mid > last_mid else 0.35 if self.mid < last_mid else 0.5
                last_mid = self.mid
                side = BUY if uniforms[i] < p_buy else SELL
                seq += 1
                yield Tick(ts_ns=next_ns, price=ask if side == BUY else bid,
                           size=float(max(1, round(sizes[i] * shape.size_scale[bucket]))),
                           bid=bid, ask=ask, bid_size=float(depth[i, 0]), ask_size=float(depth[i, 1]),
                           side=side, seq=seq)
