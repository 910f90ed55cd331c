"""Self-contained HTML report of a backtest: equity, drawdown, trades over price, monthly table.

plotly.js is embedded inline (``include_plotlyjs=True``) because the report must open offline and
the project serves no CDN assets. Long series are thinned to at most ``MAX_POINTS`` points per
line so a million-bar report stays a few MB and opens quickly; trades are never thinned.
"""

from __future__ import annotations

import contextlib
import html
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_POINTS = 20_000


def _thin(series: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    step = max(1, len(series) // max_points)
    return series.iloc[::step] if step > 1 else series


def monthly_table(equity: pd.Series, trades: pd.DataFrame, start_equity: float) -> pd.DataFrame:
    """Per calendar month (UTC): trades closed, net P&L and return on the month's opening equity."""
    if equity.empty:
        return pd.DataFrame(columns=["month", "trades", "net_pnl_usd", "return_pct"])
    month = equity.index.tz_convert("UTC").tz_localize(None).to_period("M")
    closing = equity.groupby(month).last()
    opening = np.r_[start_equity, closing.to_numpy()[:-1]]
    exits = trades["exit_time"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M") if len(trades) else None
    counts = trades.groupby(exits)["pnl_usd"].agg(["count", "sum"]) if exits is not None else None
    rows = []
    for i, m in enumerate(closing.index):
        known = counts is not None and m in counts.index
        n, pnl = (int(counts.loc[m, "count"]), float(counts.loc[m, "sum"])) if known else (0, 0.0)
        rows.append({"month": str(m), "trades": n, "net_pnl_usd": round(pnl, 2),
                     "return_pct": round((closing.iloc[i] / opening[i] - 1) * 100, 3)})
    return pd.DataFrame(rows)


def build_report(bars: pd.DataFrame, equity: pd.Series, trades: pd.DataFrame, summary: dict, *,
                 start_equity: float, title: str = "MIA backtest") -> str:
    """The report as one HTML string."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.5, 0.3, 0.2], vertical_spacing=0.03,
                        subplot_titles=("Price and trades", "Equity (USD)", "Drawdown (% of peak)"))
    close = _thin(bars["close"])
    fig.add_trace(go.Scattergl(x=close.index, y=close.to_numpy(), name="close", line={"width": 1}), row=1, col=1)
    for side, symbol, color in (("LONG", "triangle-up", "green"), ("SHORT", "triangle-down", "red")):
        t = trades[trades["side"] == side]
        fig.add_trace(go.Scattergl(x=t["entry_time"], y=t["entry_price"], mode="markers", name=f"{side} entry",
                                   marker={"symbol": symbol, "color": color, "size": 8}), row=1, col=1)
    fig.add_trace(go.Scattergl(x=trades["exit_time"], y=trades["exit_price"], mode="markers", name="exit",
                               text=trades["exit_reason"], marker={"symbol": "x", "color": "black", "size": 6}),
                  row=1, col=1)
    eq = _thin(equity)
    fig.add_trace(go.Scattergl(x=eq.index, y=eq.to_numpy(), name="equity"), row=2, col=1)
    peak = np.maximum.accumulate(np.r_[start_equity, equity.to_numpy()])[1:]
    dd = _thin(pd.Series((equity.to_numpy() - peak) / peak * 100, index=equity.index))
    fig.add_trace(go.Scattergl(x=dd.index, y=dd.to_numpy(), name="drawdown %", fill="tozeroy"), row=3, col=1)
    fig.update_layout(height=900, title=title, hovermode="x unified")
    table = monthly_table(equity, trades, start_equity)
    tfig = go.Figure(go.Table(header={"values": list(table.columns)},
                              cells={"values": [table[c].tolist() for c in table.columns]}))
    tfig.update_layout(title="Monthly", height=120 + 30 * len(table))
    scalars = {k: v for k, v in summary.items() if not isinstance(v, dict | list)}
    sections = "".join(f"<h2>{html.escape(name.title())}</h2>{_table(_flatten(summary[name]))}"
                       for name in ("ml", "settings") if isinstance(summary.get(name), dict))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title></head><body>"
            f"<h1>{html.escape(title)}</h1>{_table(scalars)}"
            + fig.to_html(full_html=False, include_plotlyjs=True)
            + tfig.to_html(full_html=False, include_plotlyjs=False) + sections + "</body></html>")


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    """``{"risk": {"max_position": 2}}`` -> ``{"risk.max_position": 2}`` (lists stay whole)."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, object] = {}
    for key, inner in value.items():
        out.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _table(rows: Mapping[str, object]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items())
    return f"<table>{body}</table>"


def iso_utc(index: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """ISO-8601 UTC strings (``2013-10-07T14:31:00Z``), vectorized: strftime is too slow for 1M rows."""
    values = pd.DatetimeIndex(index).tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy()
    return np.char.add(np.datetime_as_string(values, unit="s"), "Z")


def trades_csv(trades: pd.DataFrame) -> str:
    """The contract trades CSV (DESIGN section 5)."""
    out = trades.copy()
    for col in ("entry_time", "exit_time"):
        out[col] = iso_utc(out[col]) if len(out) else []
    return out.to_csv(index=False, lineterminator="\n")


def equity_csv(equity: pd.Series) -> str:
    """``timestamp,equity_usd``, one row per bar."""
    frame = pd.DataFrame({"timestamp": iso_utc(equity.index), "equity_usd": np.round(equity.to_numpy(), 2)})
    return frame.to_csv(index=False, lineterminator="\n")


def write_all_or_nothing(files: Mapping[Path, str]) -> None:
    """Write every file to a temp file beside it, then rename them all; on any error, none appears.

    (A crash between two renames can still leave the earlier ones; the window is microseconds.)
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        for tmp, _ in temps:
            os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; outputs should look like any other file
        for tmp, path in temps:
            os.replace(tmp, path)
        temps = []
    finally:
        for tmp, _ in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
