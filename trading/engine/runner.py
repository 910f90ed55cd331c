"""The one decision path: what to do at a bar's close, for the backtest, ``replay`` and the live worker.

``StrategyRunner.on_bar_close`` takes the closed bar (with the engine's decision for it), the account
as the book sees it marked at that close, the open position's bracket and the market state, and
answers with a ``Decision``: an exit, a stop move, an entry, a halt, and the risk verdict. The
backtest loop applies it to its simulated orders; the live worker persists it and sends the orders
through the outbox. Nothing else decides, so the two cannot drift apart.

With a position open (checked in this order; the first that applies exits at market):

1. ``max_drawdown``: drawdown from the high-water mark at or past the limit; trading halts (latched:
   only a risk admin resumes);
2. ``daily_loss``: today's P&L (realized + open) at or past the daily loss limit; new entries stay
   blocked for the rest of the trade date by the risk rule, then trading resumes by itself;
3. ``session_close``: the bar closes within ``flat_before_close_minutes`` of its session's close;
4. ``reversal``: the engine's direction turned against the position;
5. ``time``: the bracket has been held ``max_bars`` bars.

Otherwise the bracket is managed (break-even after 1 R, then the trailing stop; ``orders.Bracket``) and
a tighter stop is returned. Flat, a bar with a direction the ML filter lets through is sized
(``sizing.contracts``) and checked by the risk manager; an approved entry is a market order for the
next price. A ``MAX_DRAWDOWN`` rejection halts as in 1.

``memoize`` (backtests, whose settings never change mid-run) skips the risk call where its answer
cannot change: the rest of a session after a daily loss, profit target or trade-count rejection
(flat, nothing can move those figures), and a running cooldown. It changes no decision, only how
often the full list of reasons is computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from trading.engine import sizing
from trading.engine import tradedate as sessions
from trading.engine.calendar import CmeCalendar
from trading.engine.instrument import ES, Instrument
from trading.engine.orders import Bracket, BracketPolicy
from trading.engine.risk import (
    NS_PER_MIN,
    AccountState,
    MarketState,
    OrderRequest,
    Reason,
    RiskConfig,
    RiskManager,
    TradingState,
)

IN_POSITION = "IN_POSITION"
STICKY_DAY = frozenset({Reason.DAILY_LOSS_LIMIT, Reason.PROFIT_TARGET_REACHED, Reason.MAX_TRADES})
EXIT_REASONS = ("max_drawdown", "daily_loss", "session_close", "reversal", "time")


@dataclass(frozen=True)
class BarClose:
    """A closed bar as the runner needs it. Times are UTC ns; the decision is taken at ``end_ns``."""

    start_ns: int
    end_ns: int
    high: float
    low: float
    close: float
    direction: int  # the engine's decision: +1, -1 or 0
    entry_allowed: bool  # False when the ML filter blocks a new entry (exits are not filtered)
    atr: float
    vol_pct: float | None  # the volatility percentile (``volatility_regime``), for sizing
    session_close_ns: int | None  # close of the exchange session the bar belongs to


@dataclass(frozen=True)
class Entry:
    side: int
    qty: int
    atr: float  # sizes the bracket once the entry fills


@dataclass
class Decision:
    exit_reason: str | None = None
    new_stop: float | None = None
    entry: Entry | None = None
    halt_reason: str | None = None
    risk_reasons: list[str] | None = None  # None: no entry considered; []: approved


class StrategyRunner:
    """Stateful only where it must be: the risk manager's order history and the backtest memo."""

    def __init__(self, *, risk: RiskConfig, policy: BracketPolicy, calendar: CmeCalendar,
                 instrument: Instrument = ES, memoize: bool = False) -> None:
        self.config = risk
        self.policy = policy
        self.instrument = instrument
        self.risk = RiskManager(risk, calendar=calendar)
        self.memoize = memoize
        self._blocked_session = -1
        self._blocked_until_ns = 0
        self._memo: list[str] = []

    def on_bar_close(self, bar: BarClose, account: AccountState, *, bracket: Bracket | None, market: MarketState,
                     pending_entry: bool = False, order_id: str = "") -> Decision:
        """The decision at ``bar.end_ns`` (see module docstring). ``bracket`` is updated in place."""
        if bracket is not None:
            return self._manage(bar, account, bracket)
        if pending_entry:
            return Decision(risk_reasons=[IN_POSITION] if bar.direction else None)
        if bar.direction == 0 or not bar.entry_allowed:
            return Decision()
        return self._enter(bar, account, market, order_id)

    def _manage(self, bar: BarClose, account: AccountState, bracket: Bracket) -> Decision:
        before = bracket.stop
        bracket.on_bar_close(bar.high, bar.low, bar.atr)
        reasons = [IN_POSITION] if bar.direction else None
        why = self._exit_reason(bar, account, bracket)
        if why is not None:
            return Decision(exit_reason=why, halt_reason="max_drawdown" if why == "max_drawdown" else None,
                            risk_reasons=reasons)
        return Decision(new_stop=bracket.stop if bracket.stop != before else None, risk_reasons=reasons)

    def _exit_reason(self, bar: BarClose, account: AccountState, bracket: Bracket) -> str | None:
        cfg = self.config
        if account.drawdown_pct >= cfg.max_drawdown_pct:
            return "max_drawdown"
        if account.pnl_today <= -cfg.daily_loss_limit:
            return "daily_loss"
        flat_ns = cfg.flat_before_close_minutes * NS_PER_MIN
        if bar.session_close_ns and bar.session_close_ns - bar.end_ns <= flat_ns:
            return "session_close"
        if bracket.reversal_exit_due(bar.direction):
            return "reversal"
        if bracket.time_exit_due():
            return "time"
        return None

    def _enter(self, bar: BarClose, account: AccountState, market: MarketState, order_id: str) -> Decision:
        now = bar.end_ns
        if self.memoize:
            if account.state == TradingState.HALTED:
                return Decision(risk_reasons=[Reason.STATE_HALTED])
            if self._blocked_session == sessions.session_id(bar.start_ns) or now < self._blocked_until_ns:
                return Decision(risk_reasons=list(self._memo))
        cfg = self.config
        size = sizing.contracts(account.equity, self.policy.stop_atr_mult * bar.atr, risk_fraction=cfg.risk_per_trade,
                                point_value=self.instrument.point_value, max_position=cfg.max_position,
                                current_exposure=account.position + account.working_qty, atr_percentile=bar.vol_pct)
        if size.qty == 0:
            return Decision(risk_reasons=[size.reason or sizing.ZERO_SIZE])
        verdict = self.risk.check(OrderRequest(side=bar.direction, qty=size.qty, client_order_id=order_id), account,
                                  market, now)
        if verdict.approved:
            return Decision(entry=Entry(side=bar.direction, qty=size.qty, atr=bar.atr), risk_reasons=[])
        reasons = list(verdict.reasons)
        halt = "max_drawdown" if Reason.MAX_DRAWDOWN in reasons else None
        if self.memoize:
            self._memo = reasons
            if STICKY_DAY.intersection(reasons):
                self._blocked_session = sessions.session_id(bar.start_ns)
            elif reasons == [Reason.COOLDOWN] and account.last_loss_ns is not None:
                self._blocked_until_ns = account.last_loss_ns + int(cfg.cooldown_minutes * NS_PER_MIN)
        return Decision(risk_reasons=reasons, halt_reason=halt)
