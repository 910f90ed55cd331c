"""CBOE chain parsing: both layouts, bad rows with exact line numbers, non-chain files."""

from __future__ import annotations

import datetime as dt

import pytest

from options.analytics.chain import ChainFileError
from options.sources.cboe import parse_cboe
from tests.options._data import chain_files, data_file

HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
    "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest"
)


def _row(strike: int = 4000, expiry: str = "Fri Jul 15 2022", iv: str = "0.25") -> str:
    return (
        f"{expiry},SPXW220715C0{strike}000,10,0,9.5,10.5,12,{iv},0.5,0.002,100,{strike},"
        f"SPXW220715P0{strike}000,11,0,10.5,11.5,7,{iv},-0.5,0.002,80"
    )


def _write(tmp_path, lines: list[str]):
    path = tmp_path / "chain.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


PREAMBLE = [
    "",
    "Standard & Poors 500 Index,Last: 4000.5,Change: 1.0",
    '"Date: July 12, 2022 at 11:55 AM EDT",Bid: 0,Ask: 0,Size: 1*1,Volume: 0',
    HEADER,
]


def test_each_cboe_row_becomes_a_call_and_a_put(tmp_path):
    result = parse_cboe(_write(tmp_path, [*PREAMBLE, _row(4000), _row(4050)]))
    chain = result.chain
    assert chain.underlying == "SPX" and chain.spot == 4000.5
    assert chain.asof == dt.datetime(2022, 7, 12, 15, 55, tzinfo=dt.UTC)
    assert len(chain) == 4 and chain.contracts["is_call"].sum() == 2
    assert chain.contracts["root"].unique().tolist() == ["SPXW"]
    assert chain.contracts["line"].tolist() == [5, 6, 5, 6]
    assert result.rejected == []


def test_malformed_rows_are_rejected_with_their_line_numbers(tmp_path):
    lines = [
        *PREAMBLE,
        _row(4000),
        "Fri Jul 15 2022,too,few",
        _row(4050).replace(",12,", ",abc,", 1),
        "",
        _row(4100, expiry="Someday"),
        _row(4150),
        _row(4200).replace(",4200,", ",-4200,"),
        _row(4250, iv="-1"),
    ]
    result = parse_cboe(_write(tmp_path, lines))
    assert [n for n, _ in result.rejected] == [6, 7, 9, 11, 12]
    reasons = dict(result.rejected)
    assert "expected 22 fields, got 3" in reasons[6]
    assert "not a number" in reasons[7]
    assert "bad expiration date" in reasons[9]
    assert "negative" in reasons[11] and "negative" in reasons[12]
    assert sorted(result.chain.contracts["strike"].unique()) == [4000, 4150]


def test_trailing_commas_and_no_leading_blank_line_are_accepted(tmp_path):
    lines = [PREAMBLE[1] + ",,,,", PREAMBLE[2] + ",,,", HEADER, _row(4000) + ",,"]
    result = parse_cboe(_write(tmp_path, lines))
    assert len(result.chain) == 2 and result.rejected == []


def test_old_quotedata_layout(tmp_path):
    header = HEADER.replace("Volume", "Vol").replace("Open Interest", "Open Int")
    lines = [
        "SPY (SPDR S&P 500 ETF Trust),310.68,1.98",
        "Jun 22 2020 @ 20:42 ET,Bid,0,Ask,0,Size,0x0,Vol,1",
        header,
        "06/26/2020,SPY200626C00310000,2,0,1.9,2.1,5,0.3,0.5,0.05,10,310.000,"
        "SPY200626P00310000,2,0,1.9,2.1,5,0.3,-0.5,0.05,12",
    ]
    chain = parse_cboe(_write(tmp_path, lines)).chain
    assert chain.underlying == "SPY" and chain.spot == 310.68
    assert chain.asof == dt.datetime(2020, 6, 23, 0, 42, tzinfo=dt.UTC)  # 20:42 EDT
    assert chain.expiries == [dt.date(2020, 6, 26)]


@pytest.mark.parametrize(
    ("lines", "line_no"),
    [
        (["date,open,high,low,close", "2024-01-02,1,2,0.5,1.5"], 1),
        (["", "", "Standard & Poors 500 Index,Last: 4000,Change: 1", "not a date"], 4),
        (PREAMBLE[:3] + ["a,b,c"], 4),
        ([], 1),
    ],
)
def test_a_file_that_is_not_a_chain_raises_with_a_line_number(tmp_path, lines, line_no):
    with pytest.raises(ChainFileError, match=rf"^line {line_no}: "):
        parse_cboe(_write(tmp_path, lines))


@pytest.mark.parametrize("relative", chain_files())
def test_every_shared_chain_file_parses_without_rejects(relative):
    result = parse_cboe(data_file(relative))
    chain = result.chain
    assert result.rejected == []
    assert chain.underlying in {"SPX", "NDX", "SPY"}
    assert len(chain) > 7000 and chain.spot > 0
    assert chain.asof.tzinfo is not None


def test_reference_file_header_values():
    chain = parse_cboe(data_file("options/ndx_quotedata_2022-02-05_luca-castelli.csv")).chain
    assert chain.underlying == "NDX" and chain.spot == pytest.approx(14694.3506)
    assert chain.asof == dt.datetime(2022, 2, 6, 1, 26, tzinfo=dt.UTC)  # 8:26 PM EST
    assert len(chain) == 2 * 9193


@pytest.mark.parametrize("lines", [1385, 3000, 9000])
def test_a_chain_cut_at_a_line_break_is_refused_with_the_reason(tmp_path, lines):
    text = data_file("options/spx_quotedata_2022-07-12_nickkxsper.csv").read_text().splitlines()[:lines]
    with pytest.raises(ChainFileError, match="cut short") as exc:
        parse_cboe(_write(tmp_path, text))
    assert exc.value.line == lines and "below the spot" in str(exc.value)


def test_a_chain_cut_in_the_middle_of_a_row_is_refused(tmp_path):
    raw = data_file("options/spx_quotedata_2022-07-12_nickkxsper.csv").read_bytes()[:500_000]
    path = tmp_path / "cut.csv"
    path.write_bytes(raw)
    with pytest.raises(ChainFileError, match="ends in the middle of a row"):
        parse_cboe(path)
