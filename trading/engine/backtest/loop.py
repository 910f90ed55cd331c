"""The bar-by-bar event loop behind the confluence backtest: the live objects on a simulated clock.

Each bar, in the order the gateway and the worker follow live:

1. the working orders are matched against the bar (``matching.Matcher.match_bar``, the paper broker's bar
   mode): an entry sent at the previous close fills at this open, its bracket is placed and matched
   against the rest of this bar, a market exit fills at this open;
2. every fill goes into the book (``book.Book``), and the book is marked at the bar's close;
3. the runner (``runner.StrategyRunner``, the live worker's decision path) decides at the close, and its
   orders are placed for the next bar.

What makes it fast is what it does not do: no pandas per bar (arrays become Python lists once), no
runner call on a bar with no position, no pending entry and no direction (the runner would do
nothing), no risk call the runner's memo knows the answer to. Fill times are the start of the bar
the fill happened in. Whatever is open after the last bar is marked out at its close
(``end_of_data``); nothing is decided on the last bar, as no later bar could fill it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from trading.engine import fills as fm
from trading.engine.book import Book, ClosedTrade
from trading.engine.instrument import ES, Instrument
from trading.engine.matching import Execution, Matcher, WorkingOrder
from trading.engine.orders import Bracket, BracketPolicy
from trading.engine.risk import MarketState, TradingState
from trading.engine.runner import IN_POSITION, BarClose, Decision, StrategyRunner

ENTRY, STOP, TARGET, EXIT = "ENTRY", "STOP", "TARGET", "EXIT"
LEG_REASON = {STOP: "stop", TARGET: "target"}


@dataclass
class LoopInputs:
    """Per-bar arrays (length n) the loop reads."""

    ts: np.ndarray  # bar start, UTC ns
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    direction: np.ndarray  # the engine's decision per bar
    entry_allowed: np.ndarray  # the ML filter's verdict per bar (True without a filter)
    atr: np.ndarray
    vol_pct: np.ndarray  # the volatility_regime feature (sizing)
    session_close: np.ndarray  # ns of the close of each bar's exchange session (0 when closed)
    bar_ns: int = 60_000_000_000


@dataclass
class LoopOutput:
    trades: list[ClosedTrade] = field(default_factory=list)
    equity: np.ndarray | None = None
    rejections: Counter = field(default_factory=Counter)
    max_abs_position: int = 0
    halted_at_ns: int | None = None


class _Account:
    """The simulated broker side: working orders, what each is for, the open bracket, the book."""

    def __init__(self, book: Book, matcher: Matcher, policy: BracketPolicy) -> None:
        self.book, self.matcher, self.policy = book, matcher, policy
        self.role: dict[str, tuple[str, str]] = {}  # client_order_id -> (role, exit reason)
        self.entry_atr: dict[str, float] = {}
        self.bracket: Bracket | None = None
        self.legs: tuple[str, str] = ("", "")
        self.pending_entry = 0  # contracts of an entry sent and not yet filled
        self.max_abs = 0

    def match(self, start_ns: int, o: float, h: float, lo: float) -> None:
        """Match until nothing new fills: a bracket placed on an entry fill is matched on this bar too."""
        while self.matcher.working:
            executions, _ = self.matcher.match_bar(start_ns, o, h, lo)
            if not executions:
                return
            for ex in executions:
                self.on_execution(ex)

    def on_execution(self, ex: Execution) -> None:
        role, reason = self.role.pop(ex.client_order_id)
        closed = self.book.fill(side=ex.side, qty=ex.qty, price=ex.price, commission=ex.commission, ts_ns=ex.ts_ns,
                                reason=LEG_REASON.get(role, reason))
        if role == ENTRY:
            self.pending_entry = 0
            self.max_abs = max(self.max_abs, abs(self.book.qty))
            self._open_bracket(ex)
        if closed is not None:
            self.bracket = None
            for coid in self.legs:
                if self.matcher.cancel(coid):
                    self.role.pop(coid, None)

    def _open_bracket(self, ex: Execution) -> None:
        bracket = Bracket.open(ex.side, ex.qty, ex.price, self.entry_atr.pop(ex.client_order_id), self.policy)
        stop, target = f"{ex.client_order_id}-S", f"{ex.client_order_id}-T"
        self.matcher.submit(WorkingOrder(stop, -ex.side, ex.qty, fm.STOP, bracket.stop, oco_group=ex.client_order_id))
        self.matcher.submit(WorkingOrder(target, -ex.side, ex.qty, fm.LIMIT, bracket.target,
                                         oco_group=ex.client_order_id))
        self.role[stop], self.role[target] = (STOP, ""), (TARGET, "")
        self.bracket, self.legs = bracket, (stop, target)

    def apply(self, decision: Decision, key: str) -> None:
        """Place the orders of a runner decision taken at a bar's close."""
        if decision.exit_reason is not None and self.book.qty:
            for coid in self.legs:
                if self.matcher.cancel(coid):
                    self.role.pop(coid, None)
            coid = f"X{key}"
            qty = self.book.qty
            self.matcher.submit(WorkingOrder(coid, -1 if qty > 0 else 1, abs(qty), fm.MARKET))
            self.role[coid] = (EXIT, decision.exit_reason)
        elif decision.new_stop is not None:
            self.matcher.modify(self.legs[0], decision.new_stop)
        if decision.entry is not None:
            coid = f"E{key}"
            self.matcher.submit(WorkingOrder(coid, decision.entry.side, decision.entry.qty, fm.MARKET))
            self.role[coid] = (ENTRY, "")
            self.entry_atr[coid] = decision.entry.atr
            self.pending_entry = decision.entry.qty

    def mark_out(self, ts_ns: int, price: float) -> None:
        """Cancel everything and close what is open at ``price`` (the end of the data)."""
        self.matcher.cancel_all()
        qty = self.book.qty
        if qty:
            cfg = self.matcher.fill_config
            self.book.fill(side=-1 if qty > 0 else 1, qty=abs(qty), price=price, commission=fm.commission(qty, cfg),
                           ts_ns=ts_ns, reason="end_of_data")


def run_loop(x: LoopInputs, *, runner: StrategyRunner, fill_cfg: fm.FillConfig, policy: BracketPolicy,
             start_equity: float, instrument: Instrument = ES,
             progress: Callable[[int], None] | None = None) -> LoopOutput:
    """Simulate the full pipeline; returns closed trades, per-bar equity and risk-rejection counts."""
    n = len(x.ts)
    ts, o, h, lo, c = (a.tolist() for a in (x.ts, x.open, x.high, x.low, x.close))
    d, allowed = x.direction.tolist(), x.entry_allowed.tolist()
    atr_v, vol = x.atr.tolist(), x.vol_pct.tolist()
    s_close = x.session_close.tolist()
    bar_ns = x.bar_ns
    out = LoopOutput()
    equity = np.empty(n)
    book = Book(start_equity=start_equity, instrument=instrument)
    acct = _Account(book, Matcher(fill_config=fill_cfg, session="bt"), policy)
    state = TradingState.ACTIVE
    step = 8192
    for i in range(n):
        if progress is not None and i % step == 0 and i:
            progress(step)
        t, ci = ts[i], c[i]
        if acct.matcher.working:
            acct.match(t, o[i], h[i], lo[i])
        pos = book.qty
        eq = book.equity(ci)
        if pos or eq > book.peak_equity:
            eq = book.mark(ci, t)
        equity[i] = eq
        if not pos and not acct.pending_entry and d[i] == 0:
            continue
        if i == n - 1:
            break
        end = t + bar_ns
        bar = BarClose(start_ns=t, end_ns=end, high=h[i], low=lo[i], close=ci, direction=d[i],
                       entry_allowed=allowed[i], atr=atr_v[i], vol_pct=None if vol[i] != vol[i] else vol[i],
                       session_close_ns=s_close[i] or None)
        account = book.account(price=ci, ts_ns=t, state=state, working_qty=acct.pending_entry)
        decision = runner.on_bar_close(bar, account, bracket=acct.bracket, market=MarketState(ci, end),
                                       pending_entry=bool(acct.pending_entry), order_id=f"bt-{i}")
        if decision.risk_reasons:
            out.rejections.update(r for r in decision.risk_reasons if r != IN_POSITION)
        if decision.halt_reason is not None and state != TradingState.HALTED:
            state, out.halted_at_ns = TradingState.HALTED, end  # latched, as the kill switch
        acct.apply(decision, str(i))
    if n and book.qty:
        acct.mark_out(ts[n - 1], c[n - 1])
        equity[n - 1] = book.equity()
    out.trades = book.closed
    out.equity = equity
    out.max_abs_position = acct.max_abs
    return out
