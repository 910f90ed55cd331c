"""Triple-barrier labels for engine signals, simulated with the backtester's own fill model.

Why the backtester's rules: a label says "this signal would have made money the way we trade it".
If the labeller filled orders more kindly than ``trading.engine.fills`` (say, at the signal bar's
close, or target-first when a bar touches both legs) the filter would learn an edge the backtest and
the paper broker can never realise. So every price here comes from ``fills`` and the bracket geometry
from ``orders.Bracket.open``:

* decision at the signal bar's close, market entry at the NEXT bar's open plus slippage
  (``fills.market_fill``);
* stop ``stop_atr_mult`` x ATR(14) of the signal bar from the entry, target ``target_r`` R, both on the
  tick grid exactly as the live bracket rounds them;
* bracket legs live from the entry bar; each bar is resolved by ``fills.bracket_exit`` (stop first when
  one bar touches both, gaps fill at the open);
* time barrier: after ``time_limit`` bars in the trade with neither leg hit, a market exit at the next
  bar's open (what ``Bracket.time_exit_due`` does in the backtest loop);
* a data gap longer than ``max_gap_minutes`` (session end, maintenance break, a file spanning years)
  ends the trade at the last bar's close, slipped like a market order (reason ``gap``): the backtester
  flattens before the session closes, and a walk across the gap would book a P&L nobody could trade.

The barriers are static: no break-even or trailing stop. The label measures the signal's edge over a
fixed horizon, not the trade-management policy, which would otherwise leak its own parameters into the
model. Label 1 means the target was hit before the stop. A time-out is labelled 0 by default (the
filter must find signals that *reach the target*; a drift that nets a few ticks is not what 2 R
promises), or by the sign of its net P&L with ``timeout_label="pnl_sign"``. Its real P&L is kept
either way, so trading metrics stay exact.

A signal whose outcome the data cannot tell (no next bar, or the time barrier falls past the last bar
with no leg hit) gets no label: guessing it would bias the last rows of every file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trading.engine import fills as fm
from trading.engine.orders import Bracket, BracketPolicy

__all__ = ["LABEL_COLUMNS", "BarrierConfig", "triple_barrier_labels"]

LABEL_COLUMNS = ("y", "side", "t_signal", "t_entry", "t_outcome", "entry_price", "exit_price", "stop", "target",
                 "exit_reason", "bars_held", "pnl_usd", "pnl_r")
TIMEOUT_LABELS = ("zero", "pnl_sign")


@dataclass(frozen=True)
class BarrierConfig:
    """Barrier geometry and costs. ``point_value``/``tick_size`` differ per instrument (SPY vs ES)."""

    stop_atr_mult: float = 2.0
    target_r: float = 2.0
    # The live bracket's time exit: labels describe the trade MIA actually manages, not a shorter one.
    time_limit: int = BracketPolicy.max_bars
    timeout_label: str = "zero"
    point_value: float = fm.POINT_VALUE
    tick_size: float = fm.TICK_SIZE
    slippage_ticks: float = 1.0
    commission_per_side: float = 2.50
    max_gap_minutes: float = 15.0

    def __post_init__(self) -> None:
        if self.time_limit < 1:
            raise ValueError(f"time_limit must be >= 1 bar, got {self.time_limit}")
        if self.timeout_label not in TIMEOUT_LABELS:
            raise ValueError(f"timeout_label must be one of {TIMEOUT_LABELS}, got {self.timeout_label!r}")
        if not (self.stop_atr_mult > 0 and self.target_r > 0 and self.point_value > 0 and self.tick_size > 0):
            raise ValueError("stop_atr_mult, target_r, point_value and tick_size must be > 0")

    def fill_config(self) -> fm.FillConfig:
        return fm.FillConfig(slippage_ticks=self.slippage_ticks, commission_per_side=self.commission_per_side,
                             tick_size=self.tick_size, point_value=self.point_value)

    def policy(self) -> BracketPolicy:
        return BracketPolicy(stop_atr_mult=self.stop_atr_mult, target_r=self.target_r, tick_size=self.tick_size,
                             max_bars=self.time_limit)


def _bar_length(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Median spacing of the bars (1 minute for the minute files); the time a bar's outcome is known."""
    if len(index) < 2:
        return pd.Timedelta(minutes=1)
    return pd.Timedelta(int(np.median(np.diff(index.as_unit("ns").asi8))), unit="ns")


def _walk(side: int, i: int, a: float, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
          gap_after: np.ndarray, cfg: BarrierConfig, fill_cfg: fm.FillConfig, policy: BracketPolicy) -> tuple | None:
    """One signal's trade: (entry, stop, target, exit price, reason, entry bar, exit bar) or None if unknown."""
    n = len(o)
    e = i + 1
    if e >= n or not a > 0 or gap_after[i]:
        return None  # no next bar, or the next one is after a gap: the engine would not enter
    entry = fm.market_fill(side, o[e], lo[e], h[e], fill_cfg)
    bracket = Bracket.open(side, 1, entry, a, policy)
    last = min(e + cfg.time_limit - 1, n - 1)
    for j in range(e, last + 1):
        hit = fm.bracket_exit(side, bracket.stop, bracket.target, o[j], lo[j], h[j], fill_cfg)
        if hit is not None:
            return entry, bracket.stop, bracket.target, hit[1], hit[0], e, j
        if gap_after[j]:
            return entry, bracket.stop, bracket.target, fm.market_fill(-side, c[j], lo[j], h[j], fill_cfg), "gap", e, j
    x = e + cfg.time_limit  # time barrier: market exit at the open after time_limit bars
    if x >= n:
        return None
    return entry, bracket.stop, bracket.target, fm.market_fill(-side, o[x], lo[x], h[x], fill_cfg), "time", e, x


def triple_barrier_labels(bars: pd.DataFrame, signal_idx: np.ndarray, sides: np.ndarray, atr: np.ndarray,
                          config: BarrierConfig | None = None) -> pd.DataFrame:
    """Label the signals at bar positions ``signal_idx`` (sides +1/-1, ``atr`` per bar) of ``bars``.

    Returns one row per labelled signal, indexed by the signal bar's time, with ``LABEL_COLUMNS``.
    ``t_signal`` is the signal bar's close (decision time), ``t_entry`` the start of the entry bar
    (fill times are bar starts, as in the backtester), ``t_outcome`` the end of the exit bar: the first
    moment the outcome is known, which is what purging must respect.
    """
    cfg = config or BarrierConfig()
    fill_cfg, policy = cfg.fill_config(), cfg.policy()
    idx = pd.DatetimeIndex(bars.index)
    bar = _bar_length(idx)
    o, h, lo, c = (bars[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    ns = idx.as_unit("ns").asi8
    gap_after = np.r_[np.diff(ns) > pd.Timedelta(minutes=cfg.max_gap_minutes).value, False]
    atr = np.asarray(atr, dtype=np.float64)
    rows, keep = [], []
    for i, side in zip(np.asarray(signal_idx, dtype=np.int64), np.asarray(sides, dtype=np.int64), strict=True):
        res = _walk(int(side), int(i), float(atr[i]), o, h, lo, c, gap_after, cfg, fill_cfg, policy)
        if res is None:
            continue
        entry, stop, target, exit_px, reason, e, x = res
        points = side * (exit_px - entry)
        pnl = points * cfg.point_value - 2 * cfg.commission_per_side
        risk_usd = abs(entry - stop) * cfg.point_value
        if reason == "target":
            y = 1
        elif reason == "stop":
            y = 0
        else:
            y = int(pnl > 0) if cfg.timeout_label == "pnl_sign" else 0
        t_out = idx[x] if reason == "time" else idx[x] + bar  # a time exit is known at that bar's open
        rows.append((y, int(side), idx[i] + bar, idx[e], t_out, entry, exit_px, stop, target, reason, x - e + 1,
                     pnl, pnl / risk_usd))
        keep.append(idx[i])
    out = pd.DataFrame(rows, columns=list(LABEL_COLUMNS), index=pd.DatetimeIndex(keep, name="ts"))
    out["y"] = out["y"].astype(np.int64)
    out["side"] = out["side"].astype(np.int64)
    return out
