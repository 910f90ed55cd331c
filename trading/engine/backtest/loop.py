"""The bar-by-bar event loop behind the confluence backtest.

It drives the live objects (``RiskManager`` for every entry, ``sizing.contracts``, ``orders.Bracket``
and the ``fills`` model) over precomputed numpy arrays. Speed comes from what it does NOT do per
bar: no pandas access (arrays are turned into Python lists once), no risk call on bars with no
signal, and none while the day is already blocked by a rule that cannot clear before the next
session (daily loss, profit target, trade count) or inside a running cooldown.

Timing: a decision is taken at bar t's close (``ts[t] + bar length``) and its market order fills
at bar t+1's open. Bracket legs are live from the entry fill, so they can fill in the entry bar.
Fill times are the start of the bar the fill happened in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from trading.engine import fills as fm
from trading.engine import sizing
from trading.engine.orders import Bracket, BracketPolicy
from trading.engine.risk import AccountState, MarketState, OrderRequest, Reason, RiskManager, TradingState

STICKY_DAY = frozenset({Reason.DAILY_LOSS_LIMIT, Reason.PROFIT_TARGET_REACHED, Reason.MAX_TRADES})


@dataclass
class LoopInputs:
    """Per-bar arrays (length n) the loop reads; ``session`` is the CME trade-date id."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    direction: np.ndarray
    atr: np.ndarray
    atr_pct: np.ndarray
    session: np.ndarray
    session_close: np.ndarray  # ns of the session close each bar belongs to (0 when unknown)
    bar_ns: int = 60_000_000_000


@dataclass
class LoopOutput:
    trades: list[tuple] = field(default_factory=list)  # (entry_i, exit_i, side, qty, entry_px, exit_px, pnl, comm, why)
    equity: np.ndarray | None = None
    rejections: Counter = field(default_factory=Counter)
    max_abs_position: int = 0


def run_loop(x: LoopInputs, *, risk: RiskManager, fill_cfg: fm.FillConfig, policy: BracketPolicy,
             start_equity: float, progress: Callable[[int], None] | None = None) -> LoopOutput:
    """Simulate the full pipeline; returns closed trades, per-bar equity and risk-rejection counts."""
    cfg = risk.config
    n = len(x.ts)
    ts, o, h, lo, c = (a.tolist() for a in (x.ts, x.open, x.high, x.low, x.close))
    d, atr_v, atr_p = x.direction.tolist(), x.atr.tolist(), x.atr_pct.tolist()
    sess, s_close = x.session.tolist(), x.session_close.tolist()
    bar_ns, pv = x.bar_ns, fill_cfg.point_value
    comm_side = fill_cfg.commission_per_side
    flat_ns = cfg.flat_before_close_minutes * 60_000_000_000
    out = LoopOutput()
    equity = np.empty(n)
    acct = AccountState(equity=start_equity, peak_equity=start_equity)
    cash = start_equity  # realized equity (net of commissions)
    pos = 0  # signed contracts
    bracket: Bracket | None = None
    entry_i = 0
    entry_comm = 0.0
    pending_entry: tuple[int, int, float] | None = None  # (side, qty, atr at signal)
    pending_exit: str | None = None
    blocked_until_session = -1
    blocked_until_ns = 0
    day = sess[0] if n else 0
    step = 8192

    def close_trade(i: int, price: float, why: str) -> None:
        nonlocal cash, pos, bracket
        side, qty = bracket.side, bracket.qty
        gross = side * (price - bracket.entry_price) * pv * qty
        exit_comm = comm_side * qty
        cash += gross - exit_comm
        pnl = gross - exit_comm - entry_comm
        acct.realized_pnl_today += gross - exit_comm
        if pnl < 0:
            acct.consecutive_losses += 1
            acct.last_loss_ns = ts[i] + bar_ns
        else:
            acct.consecutive_losses = 0
        out.trades.append((entry_i, i, side, qty, bracket.entry_price, price, pnl, entry_comm + exit_comm, why))
        pos, bracket = 0, None

    for i in range(n):
        if progress is not None and i % step == 0 and i:
            progress(step)
        if sess[i] != day:
            day = sess[i]
            acct.realized_pnl_today = 0.0
            acct.trades_today = 0
        oi, hi, li, ci = o[i], h[i], lo[i], c[i]
        # 1. orders decided at the previous close fill at this open
        if pending_exit is not None:
            px = fm.market_fill(-bracket.side, oi, li, hi, fill_cfg)
            bracket.cancel()
            close_trade(i, px, pending_exit)
            pending_exit = None
        elif pending_entry is not None:
            side, qty, a = pending_entry
            px = fm.market_fill(side, oi, li, hi, fill_cfg)
            bracket = Bracket.open(side, qty, px, a, policy)
            pos, entry_i, entry_comm = side * qty, i, comm_side * qty
            cash -= entry_comm
            acct.realized_pnl_today -= entry_comm
            acct.trades_today += 1
            acct.working_qty = 0
            pending_entry = None
            if qty > out.max_abs_position:
                out.max_abs_position = qty
        # 2. bracket legs inside this bar
        if pos:
            hit = fm.bracket_exit(bracket.side, bracket.stop, bracket.target, oi, li, hi, fill_cfg)
            if hit is not None:
                bracket.on_exit_fill(hit[0], hit[1])
                close_trade(i, hit[1], hit[0])
        # 3. mark to market at the close
        unreal = pos * (ci - bracket.entry_price) * pv if pos else 0.0
        eq = cash + unreal
        equity[i] = eq
        if not pos and pending_entry is None and d[i] == 0:
            if eq > acct.peak_equity:
                acct.peak_equity = eq
            continue
        acct.equity, acct.unrealized_pnl = eq, unreal
        if eq > acct.peak_equity:
            acct.peak_equity = eq
        now = ts[i] + bar_ns
        if i == n - 1:
            break
        # 4. decisions at the close
        if pos:
            bracket.on_bar_close(hi, li, atr_v[i])
            if acct.drawdown_pct >= cfg.max_drawdown_pct:
                pending_exit, acct.state = "max_drawdown", TradingState.HALTED  # latched, as the kill switch
            elif acct.pnl_today <= -cfg.daily_loss_limit:
                pending_exit = "daily_loss"
            elif s_close[i] and s_close[i] - now <= flat_ns:
                pending_exit = "session_close"
            elif bracket.reversal_exit_due(d[i]):
                pending_exit = "reversal"
            elif bracket.time_exit_due():
                pending_exit = "time"
            continue
        if d[i] == 0 or acct.state != TradingState.ACTIVE or day == blocked_until_session or now < blocked_until_ns:
            continue
        a = atr_v[i]
        size = sizing.contracts(eq, policy.stop_atr_mult * a, risk_fraction=cfg.risk_per_trade, point_value=pv,
                                max_position=cfg.max_position, current_exposure=0, atr_percentile=atr_p[i])
        if size.qty == 0:
            out.rejections[Reason.ZERO_SIZE] += 1
            continue
        side = d[i]
        verdict = risk.check(OrderRequest(side=side, qty=size.qty, client_order_id=f"bt-{i}"), acct,
                             MarketState(last_price=ci, last_data_ns=now), now)
        if verdict.approved:
            pending_entry = (side, size.qty, a)
            acct.working_qty = size.qty
            continue
        for r in verdict.reasons:
            out.rejections[r] += 1
        if Reason.MAX_DRAWDOWN in verdict.reasons:
            acct.state = TradingState.HALTED  # flat equity cannot recover: latched for the rest of the run
        elif STICKY_DAY.intersection(verdict.reasons):
            blocked_until_session = day
        elif verdict.reasons == [Reason.COOLDOWN] and acct.last_loss_ns is not None:
            blocked_until_ns = acct.last_loss_ns + int(cfg.cooldown_minutes * 60_000_000_000)
    if pos:  # close what is still open at the last bar's close
        bracket.cancel()
        close_trade(n - 1, c[n - 1], "end_of_data")
        equity[n - 1] = cash
    out.equity = equity
    return out
