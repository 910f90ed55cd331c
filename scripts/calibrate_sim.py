"""Measure the intraday shape of real ES data and write the simulator's calibration.

Reads the real files in ../shared/data/es (never copied into the repo) and writes
trading/adapters/sim/calibration.json: per half hour of Chicago time, the mean volume per minute and
the standard deviation of 1-minute price changes in ticks, plus trade-size figures from the tick
file. Run: `.venv/bin/python scripts/calibrate_sim.py [--data ../shared/data]`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

TICK = 0.25
OUT = Path(__file__).resolve().parent.parent / "trading" / "adapters" / "sim" / "calibration.json"


def _minute_frames(data: Path) -> list[pd.DataFrame]:
    lean = pd.read_csv(data / "es" / "es_1min_frontmonth_lean_DERIVED.csv")
    lean = lean.dropna(subset=["close"])
    lean["ts"] = pd.to_datetime(lean["ts_utc_bar_start"], utc=True)
    hmm = pd.read_csv(data / "es" / "es_1min_close_2024-01_hmm-trading.csv")
    hmm["ts"] = pd.to_datetime(hmm["timestamp"], utc=True)
    hmm["close"] = hmm["price"]
    frames = []
    for frame in (lean, hmm):
        frame = frame[["ts", "close", "volume"]].sort_values("ts").reset_index(drop=True)
        gap = frame["ts"].diff().dt.total_seconds()
        # Only consecutive minutes give a 1-minute change; gaps (thin trading, breaks) are skipped.
        frame["dticks"] = np.where(gap == 60, frame["close"].diff() / TICK, np.nan)
        frames.append(frame)
    return frames


def calibrate(data: Path) -> dict:
    minutes = pd.concat(_minute_frames(data), ignore_index=True)
    local = minutes["ts"].dt.tz_convert("America/Chicago")
    minutes["bucket"] = local.dt.hour * 2 + local.dt.minute // 30
    table = minutes.groupby("bucket").agg(volume_per_min=("volume", "mean"), dticks_std=("dticks", "std"),
                                          minutes=("close", "size"))
    ticks = pd.read_csv(data / "es" / "es_ticks_2011-07-31_mlfinlab_imbalance_sample_data.csv").dropna()
    buckets = {}
    for bucket in range(48):
        if bucket in table.index and table.loc[bucket, "minutes"] >= 30:
            row = table.loc[bucket]
            buckets[f"{bucket // 2:02d}:{bucket % 2 * 30:02d}"] = {
                "volume_per_min": round(float(row["volume_per_min"]), 1),
                "dticks_std": round(float(row["dticks_std"]), 3),
                "minutes_measured": int(row["minutes"]),
            }
    return {
        "source": "real ES minute files in ../shared/data/es (Lean front month 2013/2020, Databento Jan 2024)",
        "tick_size": TICK,
        "timezone": "America/Chicago",
        "buckets": buckets,
        "mean_trade_size": round(float(ticks["Volume"].mean()), 3),
        "median_trade_size": float(ticks["Volume"].median()),
        "trade_size_p99": float(ticks["Volume"].quantile(0.99)),
        "overall_dticks_std": round(float(minutes["dticks"].std()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "data")
    args = parser.parse_args()
    result = calibrate(args.data)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT} ({len(result['buckets'])} half-hour buckets)")


if __name__ == "__main__":
    main()
