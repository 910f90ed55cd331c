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
pyarrow's CSV reader in one call. A clean body (no quotes, no blank or padded lines, every line 22
fields, which is what CBOE serves) is handed to pyarrow as one byte string straight from the text,
with no per-line Python at all; anything else takes the per-line path, which accepts, skips and
rejects exactly the same lines either way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from options.analytics.chain import Chain, ChainFileError, empty_contracts, underlying_from_root
from options.sources.cboe_header import (
    _NAME_TO_UNDERLYING,
    N_FIELDS,
    _check_header,
    _fields,
    _is_blank,
    _parse_date,
    _parse_title,
)

__all__ = ["ChainFileError", "ParseResult", "parse_cboe", "parse_cboe_text"]


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
    """Parse the text of a CBOE chain download; raises :class:`ChainFileError` if it is not one, or if
    it was cut short (see ``_check_complete``)."""
    _check_last_row(text)
    fast = _parse_fast(text)
    if fast is not None:
        return _check_complete(fast)
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
    return _check_complete(_result(name, spot, asof, cols, rejected))


def _check_last_row(text: str) -> None:
    """A file that stops in the middle of a data row was cut short (a partial download or save)."""
    stripped = text.rstrip("\r\n")
    if not stripped or text != stripped or "\n" not in stripped:
        return  # ends with a line break, or has no body at all: nothing cut mid-row
    last = stripped.rsplit("\n", 1)[1]
    if _is_blank(last):
        return
    fields = len(next(csv.reader([last]), []))
    if fields < N_FIELDS:
        raise ChainFileError(stripped.count("\n") + 1, f"the file ends in the middle of a row ({fields} of "
                                                        f"{N_FIELDS} fields): it was cut short")


def _check_complete(result: ParseResult) -> ParseResult:
    """A chain lists every expiry's strikes in ascending order around the spot, so a file cut at a line
    break ends inside an expiry whose strikes stop below the spot while the file's other expiries reach
    past it (every expiry of every real file here straddles the spot: PROVENANCE §2 and §11). Such a
    chain is refused rather than analysed as if complete: its walls, flip and bias would be wrong and
    would feed the confluence score."""
    contracts = result.chain.contracts
    if contracts.empty:
        return result
    last_line = int(contracts["line"].max())
    last_expiry = contracts.loc[contracts["line"] == last_line, "expiry"].iloc[0]
    in_last = contracts["expiry"] == last_expiry
    top = float(contracts.loc[in_last, "strike"].max())
    others_reach = bool((~in_last).any()) and float(contracts.loc[~in_last, "strike"].max()) >= result.chain.spot
    if top < result.chain.spot and others_reach:
        day = pd.Timestamp(last_expiry).strftime("%Y-%m-%d")
        raise ChainFileError(last_line, f"the last expiry ({day}) stops at strike {top:g}, below the spot "
                                        f"{result.chain.spot:g}: the file was cut short")
    return result


def _result(
    name: str, spot: float, asof: dt.datetime, cols: dict[str, Any], rejected: list[tuple[int, str]]
) -> ParseResult:
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


# Line breaks str.splitlines() honours beyond \r and \n; pyarrow does not split on them.
_EXOTIC_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_EXOTIC_BREAKS_RE = re.compile(f"[{_EXOTIC_BREAKS}]")
_LINE_END = re.compile(r"\r\n|\r|\n")


def _parse_fast(text: str) -> ParseResult | None:
    """The whole-body pyarrow path for a clean file, or None to take the per-line path.

    None whenever the result could differ from the per-line path's: exotic line breaks, a preamble
    problem (the per-line path raises the proper error), quotes in the body, a line pyarrow cannot
    read as 22 fields, a blank line, or a comma-only line. Line numbers then follow from the row
    index, because every body line became exactly one row.
    """
    if text.isascii():
        if any(ch in text for ch in _EXOTIC_BREAKS[:5]):
            return None
    elif _EXOTIC_BREAKS_RE.search(text):
        return None
    # Preamble: the first non-blank line and the two after it, without splitting the whole text.
    head: list[str] = []
    pos = 0
    lineno = 0
    for m in _LINE_END.finditer(text):
        line = text[pos : m.start()]
        pos = m.end()
        lineno += 1
        if head or not _is_blank(line):
            head.append(line)
            if len(head) == 3:
                break
    if len(head) < 3:
        return None
    try:
        name, spot = _parse_title(_fields(head[0]), lineno - 2)
        asof = _parse_date(_fields(head[1]), lineno - 1)
        _check_header(_fields(head[2]), lineno)
    except ChainFileError:
        return None
    raw = text[pos:].encode()
    if not raw or b'"' in raw:
        return None
    n_lines = _count_lines(raw)
    try:
        table = _read_table(raw)
    except (pa.ArrowInvalid, ValueError):
        return None
    if table.num_rows != n_lines:  # pyarrow skipped empty lines: the per-line path numbers them
        return None
    cols = _table_columns(table, as_arrow=True)
    if any(table.column(c).null_count for c in _NUMERIC):
        blank = np.logical_and.reduce([np.isnan(cols[c]) for c in _NUMERIC])
        for c in _STRING_COLUMNS:
            blank &= _is_empty(cols[c])
        if blank.any():  # a comma-only line, which the per-line path skips silently
            return None
    cols["line"] = np.arange(lineno + 1, lineno + 1 + n_lines, dtype=np.int64)
    reasons, bad = _semantic_reasons(cols)
    rejected = [(int(ln), str(r)) for ln, r in zip(cols["line"][bad], reasons[bad], strict=True)]
    if bad.any():
        cols = {k: _take(v, ~bad) for k, v in cols.items()}
    return _result(name, spot, asof, cols, sorted(rejected))


def _count_lines(raw: bytes) -> int:
    """Number of lines as str.splitlines() counts them (\\n, \\r\\n and \\r; exotic breaks excluded by
    the caller). numpy, because bytes.count scans a byte at a time (~1 ms per pass on 1.4 MB)."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    n = int(np.count_nonzero(buf == 10))
    if b"\r" in raw:
        cr = buf == 13
        n += int(np.count_nonzero(cr)) - int(np.count_nonzero(cr[:-1] & (buf[1:] == 10)))
    return n + (0 if raw[-1:] in (b"\n", b"\r") else 1)


def _is_empty(col: np.ndarray | pa.Array) -> np.ndarray:
    """Boolean mask of empty strings in an object array or a pyarrow string array."""
    if isinstance(col, pa.Array):
        return pc.equal(col, "").to_numpy(zero_copy_only=False)
    return col == ""


def _take(col: np.ndarray | pa.Array, mask: np.ndarray) -> np.ndarray | pa.Array:
    if isinstance(col, pa.Array):
        return col.filter(pa.array(mask))
    return col[mask]



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
    reasons, bad = _semantic_reasons(cols)
    rejected.extend((int(ln), r) for ln, r in zip(cols["line"][bad], reasons[bad], strict=True))
    return {k: v[~bad] for k, v in cols.items()}, rejected


_STRING_COLUMNS = ("expiry", "c_sym", "p_sym")


def _read_columns(lines: list[str]) -> dict[str, np.ndarray]:
    """Columns of the data lines; pyarrow's reader is ~4x faster than pandas' C engine here."""
    if not lines:
        return {c: np.array([], dtype=object if c in _STRING_COLUMNS else np.float64) for c in _COLUMNS}
    table = _read_table("\n".join(lines).encode())
    if table.num_rows != len(lines):
        raise ValueError("row count mismatch")
    return _table_columns(table, as_arrow=False)


def _read_table(raw: bytes) -> pa.Table:
    return pacsv.read_csv(
        io.BytesIO(raw),
        read_options=pacsv.ReadOptions(column_names=_COLUMNS, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.float64() for c in _NUMERIC} | {c: pa.string() for c in _STRING_COLUMNS},
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _table_columns(table: pa.Table, *, as_arrow: bool) -> dict[str, Any]:
    """Float columns as numpy; the (whitespace-trimmed) string columns as object arrays, or as
    pyarrow arrays with ``as_arrow`` so they reach the DataFrame without a trip through Python str."""
    out: dict[str, Any] = {}
    for c in _COLUMNS:
        col = table.column(c)
        if c in _STRING_COLUMNS:
            trimmed = pc.utf8_trim_whitespace(col)
            if as_arrow:
                out[c] = trimmed.combine_chunks()
            else:
                out[c] = np.asarray(trimmed.to_numpy(zero_copy_only=False), dtype=object)
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


def _semantic_reasons(cols: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """First failing check per row (None when the row is fine), evaluated on whole columns, and the
    mask of rows that failed any check.

    Also adds ``expiry_date`` (datetime64[s]) to ``cols``.
    """
    n = len(cols["line"])
    reasons = np.full(n, None, dtype=object)
    expiry = cols["expiry"]
    if isinstance(expiry, pa.Array):
        encoded = expiry.dictionary_encode()
        uniq = encoded.dictionary.to_pylist()
        inverse = encoded.indices.to_numpy(zero_copy_only=False)
    else:
        uniq, inverse = np.unique(expiry.astype(str), return_inverse=True)
    parsed = np.array([_parse_expiry(u) for u in uniq], dtype="datetime64[s]")
    cols["expiry_date"] = parsed[inverse] if n else np.array([], dtype="datetime64[s]")
    if n == 0:
        return reasons, np.zeros(0, dtype=bool)
    bad_exp = np.isnat(cols["expiry_date"])
    checks: list[tuple[np.ndarray, np.ndarray | str]] = [
        (
            bad_exp,
            np.array(
                [
                    f"bad expiration date {v!r}"
                    for v in (expiry.to_pylist() if isinstance(expiry, pa.Array) else expiry)
                ],
                dtype=object,
            )
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
        checks.append((_is_empty(cols[col]), f"column {col!r}: empty"))
    bad = np.zeros(n, dtype=bool)
    for mask, reason in reversed(checks):  # reversed so the first failing check wins
        if mask.any():
            reasons[mask] = reason[mask] if isinstance(reason, np.ndarray) else reason
            bad |= mask
    return reasons, bad


# The dtype pandas gives a column built from Python strings (``str``, pyarrow-backed, in pandas 3).
_STR_DTYPE = pd.Series(np.array(["x"], dtype=object)).dtype


def _string_column(values: pa.Array) -> Any:
    """A pyarrow string array as the column pandas would have built from the same Python strings."""
    if isinstance(_STR_DTYPE, pd.StringDtype) and _STR_DTYPE.storage == "pyarrow":
        return pd.array(values, dtype=_STR_DTYPE)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)


def _occ_root(calls: np.ndarray | pa.Array) -> np.ndarray | pa.Array:
    """OCC root = symbol minus yymmdd + C/P + 8-digit strike (15 characters); call and put share it."""
    if isinstance(calls, pa.Array) and pc.all(pc.string_is_ascii(calls)).as_py() is not False:
        # ASCII only, so utf8_is_digit agrees with str.isdigit
        cond = pc.and_(
            pc.greater(pc.utf8_length(calls), 15), pc.utf8_is_digit(pc.utf8_slice_codeunits(calls, -15, -9))
        )
        return pc.if_else(cond, pc.utf8_slice_codeunits(calls, 0, -15), calls)
    if isinstance(calls, pa.Array):
        calls = np.asarray(calls.to_numpy(zero_copy_only=False), dtype=object)
    return np.array([s[:-15] if len(s) > 15 and s[-15:-9].isdigit() else s for s in calls], dtype=object)


def _to_contracts(cols: dict[str, Any]) -> pd.DataFrame:
    """Two contracts (call, put) per CBOE line, in the canonical column layout."""
    n = len(cols["line"])
    if n == 0:
        return empty_contracts()
    out: dict[str, Any] = {}
    calls, puts = cols["c_sym"], cols["p_sym"]
    root = _occ_root(calls)
    if isinstance(calls, pa.Array):
        if not isinstance(root, pa.Array):
            root = pa.array(root, type=pa.string())
        out["symbol"] = _string_column(pa.concat_arrays([calls, puts]))
        out["root"] = _string_column(pa.concat_arrays([root, root]))
    else:
        out["symbol"] = np.concatenate([calls, puts])
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
