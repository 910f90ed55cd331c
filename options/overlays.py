"""Dealer's-bias levels as ES prices, and the Sierra Chart overlay file that carries them.

The index levels (gamma flip, call wall, put wall) come from SPX options, but the chart that trades
is ES, so every level is shifted by the ES-SPX basis (ES = SPX + basis) and rounded to the ES tick.
The overlay is a three-column CSV, ``price,label,color``, that a Sierra Chart study (or anything
else) can poll; it is replaced atomically so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import TypedDict

ES_TICK = 0.25
CSV_HEADER = ("price", "label", "color")
# Same colours on the Options page, the ES chart and Sierra Chart.
LEVEL_KINDS: tuple[tuple[str, str, str], ...] = (
    ("gamma_flip", "gamma flip", "#F2C94C"),
    ("call_wall", "call wall", "#27AE60"),
    ("put_wall", "put wall", "#E5484D"),
)


class Level(TypedDict):
    price: float
    label: str
    color: str


def to_es(index_price: float | None, basis: float) -> float | None:
    """An index level as an ES price on the tick grid (None stays None)."""
    if index_price is None:
        return None
    return round((index_price + basis) / ES_TICK) * ES_TICK


def es_levels(*, underlying: str, basis: float, gamma_flip: float | None, call_wall: float | None,
              put_wall: float | None) -> list[Level]:
    """Flip and walls of one snapshot as ES-price levels, in a fixed order; missing levels are skipped."""
    values = {"gamma_flip": gamma_flip, "call_wall": call_wall, "put_wall": put_wall}
    out: list[Level] = []
    for key, name, color in LEVEL_KINDS:
        price = to_es(values[key], basis)
        if price is not None:
            out.append({"price": price, "label": f"{underlying} {name}", "color": color})
    return out


def render_csv(levels: list[Level]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for level in levels:
        writer.writerow([f"{level['price']:.2f}", level["label"], level["color"]])
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over `path` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_overlay(path: Path, levels: list[Level]) -> None:
    write_atomic(path, render_csv(levels).encode())
