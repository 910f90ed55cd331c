"""Bar files: every sample format reads with its documented row count; bad rows carry line numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.engine._data import es_minute_file, need, shared_data
from trading.engine.loaders import BarFileError, RejectedRow, load_bars

OHLCV = ["open", "high", "low", "close", "volume"]


def test_derived_es_file_reads_all_rows_with_quote_only_minutes_counted_apart():
    res = load_bars(es_minute_file())
    assert res.fmt == "ohlcv"
    assert res.total_rows == 19_711
    assert res.quote_only == 628 and res.rejected == []
    assert len(res.bars) == 19_711 - 628
    assert {"bid", "ask", "bid_size", "ask_size"} <= set(res.bars.columns)
    assert str(res.bars.index.tz) == "UTC" and res.bars.index.is_monotonic_increasing
    assert res.bars.index[0] == pd.Timestamp("2013-10-06 22:00", tz="UTC")


def test_close_only_file_gives_flat_bars():
    res = load_bars(shared_data() / "es" / "es_1min_close_2024-01_hmm-trading.csv")
    assert len(res.bars) == 18_636 and res.rejected == []
    b = res.bars
    assert (b["open"] == b["close"]).all() and (b["high"] == b["low"]).all()
    assert b["volume"].sum() == 29_580_781
    assert b.index[0] == pd.Timestamp("2024-01-02 07:00", tz="UTC")


def test_ninjatrader_export_is_shifted_from_bar_end_to_bar_start():
    res = load_bars(shared_data() / "spy" / "nt-spy-minute-2011-01_pyalgotrade.csv", tick_size=0.01)
    assert res.fmt == "ninjatrader"
    assert len(res.bars) == 14_180 and res.rejected == []
    assert res.bars.index[0] == pd.Timestamp("2011-01-03 09:00", tz="UTC")
    assert res.bars.iloc[0]["close"] == 126.39


def test_zone_named_in_time_column_is_used():
    res = load_bars(shared_data() / "spy" / "spy_1min_lean_DERIVED.csv", tick_size=None)
    assert res.total_rows == 6_403 and res.rejected == []
    assert res.bars.index[0].tz_convert("America/New_York").hour >= 4


def test_sierra_chart_export(tmp_path):
    path = tmp_path / "ESZ24.txt"
    path.write_text(
        "Date, Time, Open, High, Low, Last, Volume, NumberOfTrades, BidVolume, AskVolume\n"
        "2024/12/2, 09:30:00, 6050.25, 6051.00, 6049.75, 6050.75, 1200, 310, 500, 700\n"
        "2024/12/2, 09:31:00, 6050.75, 6052.00, 6050.50, 6051.75, 900, 250, 300, 600\n"
        "2024/12/2, 09:32:00, 6051.75, 6051.75, 6049.00, 6049.25, 1500, 400, 1000, 500\n"
    )
    res = load_bars(path, tz="America/New_York")
    assert res.fmt == "sierra" and res.rejected == []
    b = res.bars
    assert list(b.index) == list(pd.date_range("2024-12-02 14:30", periods=3, freq="min", tz="UTC"))
    assert b["close"].tolist() == [6050.75, 6051.75, 6049.25]
    assert b["buy_volume"].tolist() == [700, 600, 500] and b["sell_volume"].tolist() == [500, 300, 1000]


BAD_FILE = """timestamp,open,high,low,close,volume
2024-01-02 14:30:00,4800.00,4801.00,4799.75,4800.50,100
2024-01-02 14:31:00,4800.50,4800.00,4801.00,4800.50,100
2024-01-02 14:32:00,4800.50,4801.00,4799.00,4802.00,100
2024-01-02 14:33:00,4800.50,4801.00,4799.00,4800.10,100
2024-01-02 14:34:00,4800.50,4801.00,4799.00,4800.00,-5
2024-01-02 14:34:00,4800.50,4801.00,4799.00,4800.00,5
2024-01-02 14:34:00,4800.50,4801.00,4799.00,4800.00,6
2024-01-02 14:33:30,4800.50,4801.00,4799.00,4800.00,6

2024-01-02 14:35:00,4800.50,4801.00,4799.00
2024-01-02 14:36:00,abc,4801.00,4799.00,4800.00,6
not a time,4800.50,4801.00,4799.00,4800.00,6
2024-01-02 14:37:00,,4801.00,4799.00,4800.00,6
2024-01-02 14:38:00,0,4801.00,4799.00,4800.00,6
2024-01-02 14:39:00,4801.50,4801.00,4799.00,4800.00,6
2024-01-02 14:40:00,4800.50,4801.00,4799.00,4800.00,7
"""


def test_bad_rows_are_reported_with_line_numbers_and_reasons(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_FILE)
    res = load_bars(path)
    assert res.rejected == [
        RejectedRow(3, "high < low"),
        RejectedRow(4, "close outside [low, high]"),
        RejectedRow(5, "close off tick grid 0.25"),
        RejectedRow(6, "negative volume"),
        RejectedRow(8, "duplicate timestamp"),
        RejectedRow(9, "out-of-order timestamp"),
        RejectedRow(11, "expected 6 fields, got 4"),
        RejectedRow(12, "unparseable open"),
        RejectedRow(13, "unparseable time"),
        RejectedRow(14, "missing open"),
        RejectedRow(15, "non-positive open"),
        RejectedRow(16, "open outside [low, high]"),
    ]
    assert res.bars.index.strftime("%H:%M").tolist() == ["14:30", "14:34", "14:40"]
    assert res.bars["volume"].tolist() == [100, 5, 7]


def test_strict_mode_raises_on_the_first_bad_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_FILE)
    with pytest.raises(BarFileError, match=r"^line 3: high < low$"):
        load_bars(path, strict=True)


def test_unknown_layout_and_format_fail_with_one_line_reason(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(BarFileError, match="unrecognised bar file header"):
        load_bars(path)
    with pytest.raises(BarFileError, match="unknown format"):
        load_bars(path, fmt="excel")
    with pytest.raises(BarFileError, match="cannot read"):
        load_bars(tmp_path / "missing.csv")


def test_databento_mbo_trades_become_minute_bars_with_aggressor_volume():
    need(_has_dbn(), "databento-dbn not installed")
    from trading.engine.orderflow import read_mbo_trade_bars

    bars = read_mbo_trade_bars(
        shared_data() / "es" / "databento_nautilus" / "esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    )
    assert bars["volume"].sum() == 9_892  # PROVENANCE 3d: 2,973 trades, 9,892 contracts
    assert bars.index[0] == pd.Timestamp("2023-12-25 23:00", tz="UTC")
    assert bars["low"].min() == 4800.25 and bars["high"].max() == 4811.75
    assert (bars["buy_volume"] + bars["sell_volume"] <= bars["volume"]).all()
    assert bars["buy_volume"].sum() + bars["sell_volume"].sum() == 9_848  # 44 contracts side N


def _has_dbn() -> bool:
    try:
        import databento_dbn  # noqa: F401
    except ImportError:
        return False
    return True


def test_lean_minute_zips_give_the_front_month_exactly_as_the_derived_file():
    data = shared_data()
    lean = load_bars(data / "es" / "lean_es_minute")
    derived = load_bars(data / "es" / "es_1min_frontmonth_lean_DERIVED.csv")
    assert lean.fmt == "lean" and not lean.rejected
    assert lean.bars.index.equals(derived.bars.index)
    assert (lean.bars["close"] == derived.bars["close"]).all()
    assert (lean.bars["volume"] == derived.bars["volume"]).all()
    one_day = load_bars(data / "es" / "lean_es_minute" / "20131008_trade.zip", fmt="lean")
    assert one_day.bars.index[0] == pd.Timestamp("2013-10-08 00:00", tz="UTC")
