"""Parser for CBOE delayed-quote option-chain downloads (both layouts, see PROVENANCE.md section 2).

Layouts accepted:

* current CSV: optional blank line(s), ``<Index name>,Last: <spot>,Change: ...`` then
  ``"Date: <Month d[,] yyyy[,| at] h:mm AM/PM TZ>",Bid: ...`` (TZ such as EDT/EST/CDT/ET); title lines
  may carry trailing empty fields from an Excel re-save; expiries look like ``Fri Jan 05 2024``;
* old ``quotedata.dat``: ``SPY (SPDR S&P 500 ETF Trust),310.68,1.98`` then ``Jun 22 2020 @ 20:42 ET,...``,
  expiries ``06/22/2020`` and the column names ``Vol`` / ``Open Int``.

Both then have a 22-column header and one line per (expiry, strike) holding a call (columns 1-10)
and a put (12-21) around the strike (column 11); each line becomes two contracts.

A malformed data line is rejected with its 1-based line number and a reason, and parsing goes on:
one bad row in a 10,000-row download must not cost the snapshot. A file whose preamble is not a
CBOE chain raises :class:`ChainFileError`. Expired contracts (expiry before the quote time) and
zero-IV contracts are **kept** here, with the file's values, because the file's own gamma column and
open interest are still meaningful for the spot GEX; the analysis layer excludes them from model
greeks (see ``options.analytics.expiry``).

Speed matters (``options_chain_ms`` target 50 ms for ~10,000 lines), so the numeric body goes through
pyarrow's CSV reader in one call; per-line Python checks only run when that fast path finds a problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from options.analytics.chain import Chain, ChainFileError, empty_contracts, underlying_from_root

__all__ = ["ChainFileError", "ParseResult", "parse_cboe", "parse_cboe_text"]

N_FIELDS = 22
_SIDE = ["sym", "last", "net", "bid", "ask", "volume", "iv", "delta", "gamma", "oi"]
_COLUMNS = ["expiry", *(f"c_{s}" for s in _SIDE), "strike", *(f"p_{s}" for s in _SIDE)]
_NUMERIC = [c for c in _COLUMNS if c not in ("expiry", "c_sym", "p_sym")]
_NON_NEGATIVE = [
    "strike",
    "c_bid",
    "c_ask",
    "c_volume",
    "c_iv",
    "c_oi",
    "p_bid",
    "p_ask",
    "p_volume",
    "p_iv",
    "p_oi",
]

_NAME_TO_UNDERLYING = {
    "standard & poors 500 index": "SPX",
    "s&p 500 index": "SPX",
    "nasdaq 100": "NDX",
    "nasdaq-100 index": "NDX",
    "spdr s&p 500 etf trust": "SPY",
    "invesco qqq trust": "QQQ",
    "mini-spx index": "XSP",
}
_FIXED_TZ = {
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "UTC": 0,
    "GMT": 0,
}
_REGION_TZ = {"ET": "America/New_York", "CT": "America/Chicago", "PT": "America/Los_Angeles"}
_NEW_DATE = re.compile(
    r"^(?:Date:\s*)?([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4}),?\s+(?:at\s+)?(\d{1,2}):(\d{2})\s*([AaPp][Mm])"
    r"\s+([A-Za-z]{2,4})$"
)
_OLD_DATE = re.compile(r"^([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})\s+@\s+(\d{1,2}):(\d{2})\s+([A-Za-z]{2,4})$")


@dataclass(frozen=True)
class ParseResult:
    """A parsed chain plus the data lines that were left out, as ``(line_number, reason)``."""

    chain: Chain
    rejected: list[tuple[int, str]] = field(default_factory=list)


def parse_cboe(path: str | os.PathLike[str]) -> ParseResult:
    """Parse a CBOE chain download from ``path`` (see the module docstring for the layouts)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        return parse_cboe_text(fh.read())


def parse_cboe_text(text: str) -> ParseResult:
    """Parse the text of a CBOE chain download; raises :class:`ChainFileError` if it is not one."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and _is_blank(lines[i]):
        i += 1
    if i >= len(lines):
        raise ChainFileError(max(len(lines), 1), "empty file: no CBOE title line")
    name, spot = _parse_title(_fields(lines[i]), i + 1)
    if i + 2 >= len(lines):
        raise ChainFileError(len(lines), "file ends before the CBOE date and header lines")
    asof = _parse_date(_fields(lines[i + 1]), i + 2)
    _check_header(_fields(lines[i + 2]), i + 3)
    cols, rejected = _read_body(lines, i + 3)
    contracts = _to_contracts(cols)
    underlying = _NAME_TO_UNDERLYING.get(name.lower())
    if underlying is None:
        m = re.match(r"^([A-Z]{1,6})\s*\(", name)
        if m:
            underlying = m.group(1)
        elif len(contracts):
            underlying = underlying_from_root(str(contracts["root"].iloc[0]))
        else:
            underlying = name.upper()
    chain = Chain(underlying=underlying, spot=spot, asof=asof, contracts=contracts)
    return ParseResult(chain=chain, rejected=sorted(rejected))


def _is_blank(line: str) -> bool:
    return not line.strip().strip(",").strip()


def _fields(line: str) -> list[str]:
    """CSV fields of one line with trailing empty padding (Excel re-saves) removed."""
    fields = next(csv.reader([line]), [])
    while fields and not fields[-1].strip():
        fields.pop()
    return [f.strip() for f in fields]


def _parse_title(fields: list[str], lineno: int) -> tuple[str, float]:
    if len(fields) >= 2:
        name, second = fields[0], fields[1]
        raw = second.split(":", 1)[1] if second.lower().startswith("last:") else second
        try:
            spot = float(raw.replace(",", ""))
        except ValueError:
            spot = float("nan")
        if name and np.isfinite(spot):
            if spot <= 0:
                raise ChainFileError(lineno, f"spot must be positive, got {spot}")
            return name, spot
    raise ChainFileError(lineno, "not a CBOE chain: expected a title line '<name>,Last: <spot>,...'")


def _parse_date(fields: list[str], lineno: int) -> dt.datetime:
    text = " ".join(fields[0].split()) if fields else ""
    m = _NEW_DATE.match(text)
    if m:
        month, day, year, hour, minute, ampm, tz = m.groups()
        hour_i = int(hour) % 12 + (12 if ampm.upper() == "PM" else 0)
    else:
        m = _OLD_DATE.match(text)
        if not m:
            raise ChainFileError(lineno, f"not a CBOE chain: expected a quote date line, got {text[:60]!r}")
        month, day, year, hour, minute, tz = m.groups()
        hour_i = int(hour)
    month_i = None
    for fmt in ("%B", "%b"):
        try:
            month_i = dt.datetime.strptime(month[:3] if fmt == "%b" else month, fmt).month
            break
        except ValueError:
            continue
    tz = tz.upper()
    if tz in _FIXED_TZ:
        tzinfo: dt.tzinfo = dt.timezone(dt.timedelta(hours=_FIXED_TZ[tz]))
    elif tz in _REGION_TZ:
        tzinfo = ZoneInfo(_REGION_TZ[tz])
    else:
        raise ChainFileError(lineno, f"unknown time zone {tz!r} in quote date")
    if month_i is None:
        raise ChainFileError(lineno, f"unknown month {month!r} in quote date")
    try:
        return dt.datetime(int(year), month_i, int(day), hour_i, int(minute), tzinfo=tzinfo)
    except ValueError as exc:
        raise ChainFileError(lineno, f"invalid quote date {text!r}: {exc}") from None


def _check_header(fields: list[str], lineno: int) -> None:
    names = [f.lower() for f in fields]
    ok = (
        len(names) == N_FIELDS
        and names[0] == "expiration date"
        and names[1] == "calls"
        and names[11] == "strike"
        and names[12] == "puts"
        and names[6] in ("volume", "vol")
        and names[10] in ("open interest", "open int")
    )
    if not ok:
        raise ChainFileError(
            lineno, "not a CBOE chain: expected the 22-column 'Expiration Date,Calls,...' header"
        )


def _read_body(lines: list[str], start: int) -> tuple[dict[str, np.ndarray], list[tuple[int, str]]]:
    """Numeric body via pyarrow's CSV reader; per-line diagnosis only when that fails."""
    rejected: list[tuple[int, str]] = []
    body = lines[start:]
    # Whole-list comprehensions: a Python-level call per line would eat half the time budget.
    blank = [not ln.strip().strip(",").strip() for ln in body]
    counts = [ln.count(",") + 1 if '"' not in ln else len(next(csv.reader([ln]))) for ln in body]
    good: list[str] = []
    numbers: list[int] = []
    for k, (line, n, is_blank) in enumerate(zip(body, counts, blank, strict=True)):
        if is_blank:
            continue
        if n > N_FIELDS:  # trailing padding from a spreadsheet re-save
            line = line.rstrip().rstrip(",")
            n = len(next(csv.reader([line]), [])) if '"' in line else line.count(",") + 1
        if n != N_FIELDS:
            rejected.append((start + k + 1, f"expected {N_FIELDS} fields, got {n}"))
            continue
        good.append(line)
        numbers.append(start + k + 1)
    try:
        cols = _read_columns(good)
    except (pa.ArrowInvalid, ValueError):
        keep = []
        for line, lineno in zip(good, numbers, strict=True):
            reason = _diagnose(line)
            if reason:
                rejected.append((lineno, reason))
            else:
                keep.append((line, lineno))
        good = [g for g, _ in keep]
        numbers = [n for _, n in keep]
        cols = _read_columns(good)
    cols["line"] = np.asarray(numbers, dtype=np.int64)
    reasons = _semantic_reasons(cols)
    bad = np.array([r is not None for r in reasons], dtype=bool)
    rejected.extend((int(ln), r) for ln, r in zip(cols["line"][bad], reasons[bad], strict=True))
    return {k: v[~bad] for k, v in cols.items()}, rejected


_STRING_COLUMNS = ("expiry", "c_sym", "p_sym")


def _read_columns(lines: list[str]) -> dict[str, np.ndarray]:
    """Columns of the data lines; pyarrow's reader is ~4x faster than pandas' C engine here."""
    if not lines:
        return {c: np.array([], dtype=object if c in _STRING_COLUMNS else np.float64) for c in _COLUMNS}
    table = pacsv.read_csv(
        io.BytesIO("\n".join(lines).encode()),
        read_options=pacsv.ReadOptions(column_names=_COLUMNS, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.float64() for c in _NUMERIC} | {c: pa.string() for c in _STRING_COLUMNS},
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows != len(lines):
        raise ValueError("row count mismatch")
    out: dict[str, np.ndarray] = {}
    for c in _COLUMNS:
        col = table.column(c)
        if c in _STRING_COLUMNS:
            out[c] = np.asarray(pc.utf8_trim_whitespace(col).to_numpy(zero_copy_only=False), dtype=object)
        else:
            out[c] = col.to_numpy().astype(np.float64, copy=False)
    return out


def _diagnose(line: str) -> str | None:
    fields = next(csv.reader([line]))
    for col, value in zip(_COLUMNS, fields, strict=True):
        if col in _NUMERIC:
            try:
                float(value)
            except ValueError:
                return f"column {col!r}: not a number: {value.strip()!r}"
    return None


_EXPIRY_FORMATS = ("%a %b %d %Y", "%m/%d/%Y", "%Y-%m-%d")


def _parse_expiry(text: str) -> np.datetime64:
    text = " ".join(str(text).split())
    for fmt in _EXPIRY_FORMATS:
        try:
            return np.datetime64(dt.datetime.strptime(text, fmt).date(), "s")
        except ValueError:
            continue
    return np.datetime64("NaT", "s")


def _semantic_reasons(cols: dict[str, np.ndarray]) -> np.ndarray:
    """First failing check per row (None when the row is fine), evaluated on whole columns.

    Also adds ``expiry_date`` (datetime64[s]) to ``cols``.
    """
    n = len(cols["line"])
    reasons = np.full(n, None, dtype=object)
    uniq, inverse = np.unique(cols["expiry"].astype(str), return_inverse=True)
    parsed = np.array([_parse_expiry(u) for u in uniq], dtype="datetime64[s]")
    cols["expiry_date"] = parsed[inverse] if n else np.array([], dtype="datetime64[s]")
    if n == 0:
        return reasons
    bad_exp = np.isnat(cols["expiry_date"])
    checks: list[tuple[np.ndarray, np.ndarray | str]] = [
        (
            bad_exp,
            np.array([f"bad expiration date {v!r}" for v in cols["expiry"]], dtype=object)
            if bad_exp.any()
            else "",
        ),
    ]
    for col in _NUMERIC:
        checks.append((~np.isfinite(cols[col]), f"column {col!r}: missing or not finite"))
    with np.errstate(invalid="ignore"):
        for col in _NON_NEGATIVE:
            checks.append((cols[col] < 0, f"column {col!r}: negative value"))
        checks.append((cols["strike"] <= 0, "strike must be positive"))
    for col in ("c_sym", "p_sym"):
        checks.append((cols[col] == "", f"column {col!r}: empty"))
    for mask, reason in reversed(checks):  # reversed so the first failing check wins
        if mask.any():
            reasons[mask] = reason[mask] if isinstance(reason, np.ndarray) else reason
    return reasons


def _to_contracts(cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """Two contracts (call, put) per CBOE line, in the canonical column layout."""
    n = len(cols["line"])
    if n == 0:
        return empty_contracts()
    out: dict[str, np.ndarray] = {}
    calls, puts = cols["c_sym"], cols["p_sym"]
    out["symbol"] = np.concatenate([calls, puts])
    # OCC root = symbol minus yymmdd + C/P + 8-digit strike (15 characters); call and put share it.
    root = np.array([s[:-15] if len(s) > 15 and s[-15:-9].isdigit() else s for s in calls], dtype=object)
    out["root"] = np.concatenate([root, root])
    out["expiry"] = np.tile(cols["expiry_date"], 2)
    out["strike"] = np.tile(cols["strike"], 2)
    out["is_call"] = np.repeat([True, False], n)
    for dst, src in (
        ("bid", "bid"),
        ("ask", "ask"),
        ("last", "last"),
        ("volume", "volume"),
        ("iv", "iv"),
        ("delta", "delta"),
        ("gamma", "gamma"),
        ("open_interest", "oi"),
    ):
        out[dst] = np.concatenate([cols[f"c_{src}"], cols[f"p_{src}"]])
    out["line"] = np.tile(cols["line"], 2)
    return pd.DataFrame(out)
