"""The one book: position, average price, realized and unrealized P&L, commissions, daily statistics.

The backtest loop, the gateway (which persists it after every fill and every bar-close mark) and the
dashboard's P&L all run this code, so a number means the same thing everywhere. The rules:

* **Fills.** A fill that adds to the position (or opens it) moves the average price; one that reduces
  it realizes ``side x (price - average) x qty x point value``. Commission is charged on every fill
  when it is paid: realized P&L is net of commissions paid so far, including the entry's of a trade
  still open. A fill through zero closes the trade and opens a new one with the remainder.
* **Trades.** A round trip is flat to flat. Its P&L is the gross of its closing fills minus every
  commission of its fills; its quantity is the largest position it held; its prices are the average
  entry and the average exit. A trade with negative P&L is a loss (the losing streak grows and the
  loss time is its exit fill); any other resets the streak; one with positive P&L is a win.
* **Days.** A day is the CME trade date (the session opening 17:00 Chicago; ``sessions.trade_date``).
  ``roll(ts)`` starts a new day at the first event of a new trade date; the streak and the equity
  high-water mark carry over. ``entries`` counts positions opened that day (the max-trades rule);
  ``trades`` counts round trips closed that day.
* **Marks.** ``mark(price, ts)`` values the position at ``price`` and raises the high-water mark; the
  drawdown is measured from it. The backtest and the gateway mark at every bar close (the risk checks
  read the equity there), so the high-water mark is taken at bar closes, never intrabar.

``to_state()`` / ``Book.from_state()`` give a JSON-friendly dict, versioned, for the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from trading.engine import tradedate as sessions
from trading.engine.instrument import ES, Instrument
from trading.engine.limits import AccountState, TradingState

STATE_VERSION = 1


@dataclass(frozen=True)
class ClosedTrade:
    """A round trip. ``side`` +1 long / -1 short; times are the first entry and last exit fill (UTC ns)."""

    side: int
    qty: int
    entry_ns: int
    exit_ns: int
    entry_price: float
    exit_price: float
    pnl_usd: float
    commission_usd: float
    exit_reason: str


@dataclass
class DayStats:
    """One trade date's figures (``session`` is ``sessions.session_id``)."""

    session: int
    realized_usd: float = 0.0
    commission_usd: float = 0.0
    entries: int = 0
    trades: int = 0
    wins: int = 0
    losses: int = 0
    gross_profit_usd: float = 0.0
    gross_loss_usd: float = 0.0
    max_drawdown_pct: float = 0.0
    peak_equity_usd: float = 0.0

    @property
    def day(self) -> date:
        return sessions.session_date(self.session)


@dataclass
class Book:
    """One instrument's position and the account's P&L (see module docstring)."""

    start_equity: float
    instrument: Instrument = ES
    qty: int = 0
    avg_price: float | None = None
    opened_ns: int | None = None
    realized_usd: float = 0.0
    peak_equity: float = 0.0
    consecutive_losses: int = 0
    last_loss_ns: int | None = None
    today: DayStats | None = None
    # the open round trip
    trade_side: int = 0
    trade_gross: float = 0.0
    trade_commission: float = 0.0
    trade_max_qty: int = 0
    trade_exit_value: float = 0.0
    trade_exit_qty: int = 0
    last_price: float | None = None
    closed: list[ClosedTrade] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.start_equity > 0:
            raise ValueError(f"starting equity must be > 0, got {self.start_equity}")
        self.peak_equity = max(self.peak_equity, self.start_equity)

    # -- time --------------------------------------------------------------------------------------
    def roll(self, ts_ns: int) -> DayStats:
        """The day ``ts_ns`` belongs to, starting a new one at a new trade date. An event stamped on an
        earlier date (a late execution report) counts on the current day: closed days are not reopened."""
        sid = sessions.session_id(ts_ns)
        if self.today is None or sid > self.today.session:
            self.today = DayStats(session=sid, peak_equity_usd=self.peak_equity)
        return self.today

    # -- fills -------------------------------------------------------------------------------------
    def fill(self, *, side: int, qty: int, price: float, commission: float, ts_ns: int,
             reason: str = "exit") -> ClosedTrade | None:
        """Apply one execution (``side`` +1 buy / -1 sell). Returns the trade it closed, if any."""
        if side not in (1, -1) or qty <= 0:
            raise ValueError(f"bad fill: side {side}, qty {qty}")
        day = self.roll(ts_ns)
        self.last_price = price
        held = self.qty
        closing = 0 if held == 0 or (held > 0) == (side > 0) else min(qty, abs(held))
        opening = qty - closing
        closed = None
        if closing:
            share = commission * closing / qty
            self._charge(share, day)
            gross = self.instrument.pnl(side=1 if held > 0 else -1, qty=closing, entry=self.avg_price, exit=price)
            self.realized_usd += gross
            day.realized_usd += gross
            self.trade_gross += gross
            self.trade_exit_value += price * closing
            self.trade_exit_qty += closing
            self.qty += side * closing
            if self.qty == 0:
                closed = self._close_trade(ts_ns, reason, day)
        if opening:
            self._charge(commission * opening / qty, day)
            if self.qty == 0:
                self.avg_price, self.opened_ns, self.trade_side = price, ts_ns, side
                day.entries += 1
            else:
                self.avg_price = (self.avg_price * abs(self.qty) + price * opening) / (abs(self.qty) + opening)
            self.qty += side * opening
            self.trade_max_qty = max(self.trade_max_qty, abs(self.qty))
        return closed

    def _charge(self, commission: float, day: DayStats) -> None:
        self.realized_usd -= commission
        day.realized_usd -= commission
        day.commission_usd += commission
        self.trade_commission += commission

    def _close_trade(self, ts_ns: int, reason: str, day: DayStats) -> ClosedTrade:
        pnl = self.trade_gross - self.trade_commission
        trade = ClosedTrade(side=self.trade_side, qty=self.trade_max_qty, entry_ns=self.opened_ns, exit_ns=ts_ns,
                            entry_price=self.avg_price, exit_price=self.trade_exit_value / self.trade_exit_qty,
                            pnl_usd=pnl, commission_usd=self.trade_commission, exit_reason=reason)
        day.trades += 1
        if pnl > 0:
            day.wins += 1
            day.gross_profit_usd += pnl
        if pnl < 0:
            day.losses += 1
            day.gross_loss_usd += pnl
            self.consecutive_losses += 1
            self.last_loss_ns = ts_ns
        else:
            self.consecutive_losses = 0
        self.closed.append(trade)
        self.avg_price, self.opened_ns = None, None
        self.trade_gross = self.trade_commission = self.trade_exit_value = 0.0
        self.trade_max_qty = self.trade_exit_qty = self.trade_side = 0
        return trade

    # -- valuation ---------------------------------------------------------------------------------
    def unrealized(self, price: float | None) -> float:
        if not self.qty or price is None or self.avg_price is None:
            return 0.0
        return self.instrument.pnl(side=1 if self.qty > 0 else -1, qty=abs(self.qty), entry=self.avg_price,
                                   exit=price)

    def equity(self, price: float | None = None) -> float:
        """Start + realized (net of commissions) + the position marked at ``price``."""
        return self.start_equity + self.realized_usd + self.unrealized(price)

    def mark(self, price: float, ts_ns: int) -> float:
        """Value the book at ``price`` (a bar close); raise the high-water mark; return the equity."""
        day = self.roll(ts_ns)
        self.last_price = price
        eq = self.equity(price)
        if eq > self.peak_equity:
            self.peak_equity = eq
        day.peak_equity_usd = max(day.peak_equity_usd, self.peak_equity)
        dd = (self.peak_equity - eq) / self.peak_equity * 100.0 if self.peak_equity > 0 else 0.0
        if dd > day.max_drawdown_pct:
            day.max_drawdown_pct = dd
        return eq

    def account(self, *, price: float | None, ts_ns: int, state: str = TradingState.ACTIVE,
                working_qty: int = 0) -> AccountState:
        """What the risk checks see at ``ts_ns`` with the position marked at ``price``."""
        sid = sessions.session_id(ts_ns)
        today = self.today if self.today is not None and self.today.session == sid else DayStats(session=sid)
        unrealized = self.unrealized(price)
        eq = self.start_equity + self.realized_usd + unrealized
        return AccountState(
            equity=eq, peak_equity=max(self.peak_equity, eq), position=self.qty, working_qty=working_qty,
            realized_pnl_today=today.realized_usd, unrealized_pnl=unrealized, trades_today=today.entries,
            consecutive_losses=self.consecutive_losses, last_loss_ns=self.last_loss_ns, state=TradingState(state))

    # -- persistence -------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON-friendly state (closed trades are not kept: they are stored as trades)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("instrument", "closed", "today")}
        out["today"] = asdict(self.today) if self.today is not None else None
        out["version"] = STATE_VERSION
        return out

    @classmethod
    def from_state(cls, state: dict[str, Any], *, instrument: Instrument = ES) -> Book:
        data = dict(state)
        version = data.pop("version", None)
        if version != STATE_VERSION:
            raise ValueError(f"book state version {version!r}; this code reads {STATE_VERSION}")
        today = data.pop("today", None)
        book = cls(instrument=instrument, **data)
        book.today = DayStats(**today) if today else None
        return book
