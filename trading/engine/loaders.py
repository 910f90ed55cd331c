"""Read minute-bar files into a validated bar frame.

A bar frame is a DataFrame with a UTC ``DatetimeIndex`` named ``ts`` (bar START) and float columns
open, high, low, close, volume, plus bid, ask, bid_size, ask_size, buy_volume, sell_volume when the
file has them. Formats (``fmt="auto"`` picks one from the first line):

* ``ohlcv``: a headed CSV with a time column (``ts_utc_bar_start``, ``timestamp``, ``time``,
  ``datetime``, ``date_time``, ``ts``, ``date``, or ``Date`` + ``Time``) and open/high/low/close/volume
  in any case and order. A ``price`` column alone (close-only files) gives open=high=low=close=price.
  Rows whose trade fields are all empty but that carry a quote are quote-only minutes: skipped and
  counted in ``LoadResult.quote_only``, not reported as errors. No volume column means volume 0.
* ``ninjatrader``: ``yyyyMMdd HHmmss;o;h;l;c;v`` without a header, UTC, stamped at bar END, so one
  minute is subtracted to get the bar start.
* ``sierra``: Sierra Chart text export ``Date, Time, Open, High, Low, Last, Volume, ...``; its
  AskVolume/BidVolume columns (volume traded at the ask/bid) become buy_volume/sell_volume.
* ``lean``: a QuantConnect Lean futures minute zip (``YYYYMMDD_trade.zip``, one CSV per listed
  contract, ``ms since midnight UTC,o,h,l,c,v``), or a folder of them. Each day keeps the contract
  with the largest volume (the front month, as traders roll); picked with ``fmt="auto"`` for a
  ``.zip`` path or a folder. Line numbers refer to the chosen contract's CSV inside its zip.

Naive times are UTC unless ``tz`` names their zone (a ``ts_<zone>_bar_start`` column, e.g.
``ts_america_new_york_bar_start``, names it too). Bad rows are dropped and reported
with their 1-based file line (see ``bar_validation``); ``strict=True`` raises on the first instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trading.engine.bar_validation import OHLCV_COLUMNS, BarFileError, RejectedRow, validate_bars

__all__ = ["BarFileError", "LoadResult", "RejectedRow", "load_bars"]

FORMATS = ("auto", "ohlcv", "ninjatrader", "sierra", "lean")
TIME_NAMES = ("ts_utc_bar_start", "timestamp", "time", "datetime", "date_time", "ts", "date")
ALIASES = {
    "open": "open",
    "o": "open",
    "high": "high",
    "h": "high",
    "low": "low",
    "l": "low",
    "close": "close",
    "c": "close",
    "last": "close",
    "volume": "volume",
    "vol": "volume",
    "v": "volume",
    "price": "price",
    "bid_close": "bid",
    "bid": "bid",
    "ask_close": "ask",
    "ask": "ask",
    "last_bid_size": "bid_size",
    "bid_size": "bid_size",
    "last_ask_size": "ask_size",
    "ask_size": "ask_size",
    "buy_volume": "buy_volume",
    "sell_volume": "sell_volume",
    "askvolume": "buy_volume",
    "bidvolume": "sell_volume",  # Sierra: traded at the ask = buyer aggressor
}
OPTIONAL_COLUMNS = ("bid", "ask", "bid_size", "ask_size", "buy_volume", "sell_volume")
_NINJA = re.compile(r"^\d{8} \d{6};")
_ZONED = re.compile(r"^ts_([a-z_]+?)_bar_start$")  # e.g. ts_america_new_york_bar_start


def _zone_of(name: str) -> str | None:
    """The zone a ``ts_<zone>_bar_start`` column names: ``america_new_york`` -> America/New_York."""
    m = _ZONED.match(name)
    if not m:
        return None
    area, _, city = m.group(1).partition("_")
    if area == "utc" and not city:
        return "UTC"
    return f"{area.title()}/{'_'.join(w.title() for w in city.split('_'))}" if city else None


@dataclass
class LoadResult:
    """Parsed bars, the rows dropped (line, reason), the format read and the quote-only rows skipped."""

    bars: pd.DataFrame
    rejected: list[RejectedRow] = field(default_factory=list)
    fmt: str = "ohlcv"
    quote_only: int = 0

    @property
    def total_rows(self) -> int:
        """Data rows in the file: kept + rejected + quote-only."""
        return len(self.bars) + len(self.rejected) + self.quote_only


def load_bars(
    path: str | Path,
    *,
    fmt: str = "auto",
    tz: str | None = None,
    strict: bool = False,
    tick_size: float | None = 0.25,
) -> LoadResult:
    """Read ``path`` as ``fmt`` and validate it (``tick_size=None`` skips the tick-grid check)."""
    if fmt not in FORMATS:
        raise BarFileError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "lean" or (fmt == "auto" and (Path(path).suffix == ".zip" or Path(path).is_dir())):
        header, rows, bad = _lean_rows(Path(path))
        result = _build(header, rows, bad, tz="UTC", time_fmt=None, shift=None, tick_size=tick_size)
        result.fmt = "lean"
        if strict and result.rejected:
            r = result.rejected[0]
            raise BarFileError(f"line {r.line}: {r.reason}")
        return result
    try:
        text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise BarFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise BarFileError(f"{path}: empty file")
    if fmt == "auto":
        fmt = _detect(lines[first])
    if fmt == "ninjatrader":
        rows, bad = _split(lines, first, ";", 6)
        header = ["time", "open", "high", "low", "close", "volume"]
        time_fmt, shift = "%Y%m%d %H%M%S", pd.Timedelta(minutes=-1)
    else:
        header = [h.strip().lower().replace(" ", "_") for h in lines[first].split(",")]
        rows, bad = _split(lines, first + 1, ",", len(header))
        time_fmt, shift = None, None
    result = _build(header, rows, bad, tz=tz, time_fmt=time_fmt, shift=shift, tick_size=tick_size)
    result.fmt = fmt
    if strict and result.rejected:
        r = result.rejected[0]
        raise BarFileError(f"line {r.line}: {r.reason}")
    return result


def _lean_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]], list[RejectedRow]]:
    """Rows of the front contract of each Lean trade zip, with ISO-8601 UTC bar-start times."""
    import zipfile

    zips = sorted(path.glob("*_trade.zip")) if path.is_dir() else [path]
    if not zips:
        raise BarFileError(f"{path}: no Lean *_trade.zip files")
    rows: list[tuple[int, list[str]]] = []
    bad: list[RejectedRow] = []
    for zpath in zips:
        day = re.match(r"(\d{8})_", zpath.name)
        if day is None:
            raise BarFileError(f"{zpath.name}: a Lean zip name starts with its date, YYYYMMDD_")
        midnight = pd.Timestamp(day.group(1), tz="UTC")
        try:
            with zipfile.ZipFile(zpath) as archive:
                members = {name: archive.read(name).decode("utf-8", "replace").splitlines()
                           for name in archive.namelist() if name.endswith(".csv")}
        except (OSError, zipfile.BadZipFile) as exc:
            raise BarFileError(f"cannot read {zpath}: {exc}") from exc
        if not members:
            continue

        def volume(lines: list[str]) -> float:
            return sum(float(p[5]) for p in (ln.split(",") for ln in lines) if len(p) == 6 and _number(p[5]))

        front = max(members, key=lambda name: volume(members[name]))
        for i, line in enumerate(members[front], start=1):
            parts = line.split(",")
            if not line.strip():
                continue
            if len(parts) != 6 or not _number(parts[0]):
                bad.append(RejectedRow(i, f"{zpath.name}/{front}: expected ms,open,high,low,close,volume"))
                continue
            ts = (midnight + pd.Timedelta(milliseconds=float(parts[0]))).isoformat()
            rows.append((i, [ts, *parts[1:]]))
    return ["ts", "open", "high", "low", "close", "volume"], rows, bad


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _detect(line: str) -> str:
    if _NINJA.match(line):
        return "ninjatrader"
    names = [h.strip().lower() for h in line.split(",")]
    if len(names) > 2 and names[:2] == ["date", "time"] and "last" in names:
        return "sierra"
    if any(n in TIME_NAMES or _ZONED.match(n) for n in names):
        return "ohlcv"
    raise BarFileError(f"unrecognised bar file header: {line[:80]!r}")


def _split(lines: list[str], start: int, sep: str, width: int) -> tuple[list[tuple[int, list[str]]], list]:
    """Split data lines; a line with the wrong field count is rejected here with its line number."""
    rows: list[tuple[int, list[str]]] = []
    bad: list[RejectedRow] = []
    for i in range(start, len(lines)):
        ln = lines[i]
        if not ln.strip():
            continue
        parts = ln.split(sep)
        if len(parts) != width:
            bad.append(RejectedRow(i + 1, f"expected {width} fields, got {len(parts)}"))
        else:
            rows.append((i + 1, parts))
    return rows, bad


def _build(
    header: list[str],
    rows: list[tuple[int, list[str]]],
    bad: list[RejectedRow],
    *,
    tz: str | None,
    time_fmt: str | None,
    shift: pd.Timedelta | None,
    tick_size: float | None,
) -> LoadResult:
    line_no = np.array([r[0] for r in rows], dtype=np.int64)
    cols = list(zip(*(r[1] for r in rows), strict=True)) if rows else [()] * len(header)
    raw = {name: np.array(col, dtype=object) for name, col in zip(header, cols, strict=True)}
    if "date" in raw and "time" in raw:
        times = np.char.add(
            np.char.add(_strip(raw["date"]).astype(str), " "), _strip(raw["time"]).astype(str)
        )
    else:
        tname = next((n for n in TIME_NAMES if n in raw), None) or next(
            (n for n in raw if _ZONED.match(n)), None
        )
        if tname is None:
            raise BarFileError(f"no time column in header {header}")
        tz = tz or _zone_of(tname)
        times = _strip(raw[tname]).astype(str)
    fields: dict[str, np.ndarray] = {}
    for name, values in raw.items():
        alias = ALIASES.get(name)
        if alias and alias not in fields:
            fields[alias] = _strip(values)
    if "price" in fields and "close" not in fields:
        for c in ("open", "high", "low", "close"):
            fields[c] = fields["price"]
    missing = [c for c in ("open", "high", "low", "close") if c not in fields]
    if missing:
        raise BarFileError(f"missing column(s) {', '.join(missing)} in header {header}")
    if "volume" not in fields:
        fields["volume"] = np.full(len(rows), "0", dtype=object)

    reasons = np.full(len(rows), None, dtype=object)
    trade_empty = np.ones(len(rows), dtype=bool)
    for c in OHLCV_COLUMNS:
        trade_empty &= fields[c] == ""
    quote_present = np.zeros(len(rows), dtype=bool)
    for c in ("bid", "ask"):
        if c in fields:
            quote_present |= fields[c] != ""
    quote_only = trade_empty & quote_present

    ts = _parse_times(times, time_fmt, tz)
    reasons[np.asarray(ts.isna()) & (reasons == None)] = "unparseable time"  # noqa: E711
    if shift is not None:
        ts = ts + shift
    data: dict[str, np.ndarray] = {}
    for c in (*OHLCV_COLUMNS, *OPTIONAL_COLUMNS):
        if c not in fields:
            continue
        s = fields[c]
        num = pd.to_numeric(pd.Series(s, dtype=object).replace("", np.nan), errors="coerce").to_numpy(
            np.float64
        )
        if c in OHLCV_COLUMNS:
            garbage = np.isnan(num) & (s != "")
            reasons[garbage & (reasons == None)] = f"unparseable {c}"  # noqa: E711
        data[c] = num

    keep = ~quote_only & (reasons == None)  # noqa: E711
    pre_bad = [RejectedRow(int(line_no[i]), str(reasons[i])) for i in np.flatnonzero(~quote_only & ~keep)]
    idx = pd.DatetimeIndex(ts[keep], name="ts")
    table = pd.DataFrame({c: v[keep] for c, v in data.items()}, index=idx)
    kept, rejected = validate_bars(table, line_no[keep], tick_size=tick_size)
    all_bad = sorted([*bad, *pre_bad, *rejected], key=lambda r: r.line)
    return LoadResult(bars=kept.copy(), rejected=all_bad, quote_only=int(quote_only.sum()))


def _strip(values: np.ndarray) -> np.ndarray:
    return np.array([v.strip() for v in values], dtype=object)


def _parse_times(times: np.ndarray, time_fmt: str | None, tz: str | None) -> pd.DatetimeIndex:
    """Parse to UTC (ns). Offsets in the text win; naive times are in ``tz`` (UTC when None)."""
    s = pd.Series(times, dtype=object)
    if time_fmt is not None:
        parsed = pd.to_datetime(s, format=time_fmt, errors="coerce")
    else:
        parsed = (
            pd.to_datetime(s, errors="coerce", utc=True)
            if _has_offset(times)
            else pd.to_datetime(s, errors="coerce")
        )
        retry = parsed.isna() & (s != "")
        if retry.any():  # a file with mixed layouts: parse the rest one by one
            again = pd.to_datetime(s[retry], errors="coerce", format="mixed", utc=_has_offset(times))
            parsed = parsed.astype(again.dtype)
            parsed[retry] = again
    idx = pd.DatetimeIndex(parsed)
    if idx.tz is None:
        idx = idx.tz_localize(tz or "UTC", ambiguous="NaT", nonexistent="NaT")
    return idx.tz_convert("UTC").as_unit("ns")


def _has_offset(times: np.ndarray) -> bool:
    head = next((t for t in times if t), "")
    return head.endswith("Z") or bool(re.search(r"[+-]\d\d:?\d\d$", head))
