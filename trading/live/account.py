"""The account as the database holds it: the book (``trading.engine.book``) stored and read back, and the
inputs of the risk checks (account and market state) built from it and the gateway's heartbeat.

The gateway is the only writer of the book (after every fill and every bar-close mark); the worker,
the monitor and the dashboard read it. ``Position`` and ``DailyStats`` rows are the book's figures
written out for the pages and the REST export. A missing heartbeat reads as stale data, so the risk
checks fail closed when the gateway is gone.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db.models import F, Sum

from trading.engine import sessions
from trading.engine.book import Book, DayStats
from trading.engine.calendar import from_ns, to_ns
from trading.engine.instrument import ES
from trading.engine.limits import AccountState, MarketState
from trading.live import clock
from trading.models import DailyStats, Order, OrderIntent, Position, RiskSettings, TradingState

__all__ = ["account_state", "feed_age_s", "load_book", "market_state", "newest_tick_time", "save_book",
           "trading_day", "trading_state", "working_entry_qty"]


def trading_day(moment: datetime) -> date:
    """The CME trade date: the session opening at 17:00 CT belongs to the next calendar day."""
    return sessions.trade_date(to_ns(moment))


def load_book(symbol: str | None = None, *, start_equity: float | None = None) -> Book:
    """The stored book, on the account equity as stored now (an edit of it moves the high-water mark too)."""
    symbol = symbol or settings.MIA_SYMBOL
    start = start_equity if start_equity is not None else RiskSettings.current().account_equity_usd
    row = Position.objects.filter(symbol=symbol).first()
    if row is None or not row.book:
        return Book(start_equity=start, instrument=ES)
    book = Book.from_state(row.book, instrument=ES)
    if book.start_equity != start:
        book.peak_equity += start - book.start_equity
        book.start_equity = start
    return book


def save_book(book: Book, symbol: str | None = None) -> Position:
    """Write the book and its figures (Position, today's DailyStats). Call inside the fill's transaction."""
    symbol = symbol or settings.MIA_SYMBOL
    position, _ = Position.objects.select_for_update().get_or_create(symbol=symbol)
    position.qty, position.avg_price, position.last_price = book.qty, book.avg_price, book.last_price
    position.realized_pnl_usd = book.realized_usd
    position.opened_at = from_ns(book.opened_ns) if book.opened_ns is not None else None
    position.book = book.to_state()
    position.save()
    if book.today is not None:
        _save_day(book, book.today)
    return position


def _save_day(book: Book, day: DayStats) -> None:
    DailyStats.objects.update_or_create(day=day.day, defaults={
        "realized_pnl_usd": day.realized_usd, "commission_usd": day.commission_usd, "entries": day.entries,
        "trades": day.trades, "wins": day.wins, "losses": day.losses, "consecutive_losses": book.consecutive_losses,
        "peak_equity_usd": day.peak_equity_usd, "max_drawdown_pct": day.max_drawdown_pct,
        "last_loss_at": from_ns(book.last_loss_ns) if book.last_loss_ns is not None else None})


def working_entry_qty() -> int:
    """Contracts of entries sent and not yet filled."""
    working = Order.objects.filter(state__in=Order.WORKING, intent__role=OrderIntent.Role.ENTRY)
    return working.aggregate(qty=Sum(F("intent__qty") - F("filled_qty")))["qty"] or 0


def trading_state() -> str:
    state = TradingState.objects.filter(pk=TradingState.SINGLETON_ID).values_list("state", flat=True).first()
    return state or TradingState.State.HALTED  # never seeded reads as halted: fail closed


def account_state(*, at: datetime, last_price: float | None = None, book: Book | None = None) -> AccountState:
    """What the risk checks see at ``at`` (a bar's start) with the position marked at ``last_price``."""
    book = book or load_book()
    return book.account(price=last_price, ts_ns=to_ns(at), state=trading_state(), working_qty=working_entry_qty())


def feed_age_s() -> float | None:
    """Seconds of wall time since the gateway last saw valid data, or None when unknown."""
    return clock.current().age_s()


def newest_tick_time() -> datetime | None:
    """Feed time of the newest valid data (simulated time under the simulator)."""
    newest = clock.current().newest_ns()
    return from_ns(newest) if newest is not None else None


def market_state(*, last_price: float, stale_after_s: float) -> MarketState:
    """The feed's newest data time, in feed time; 0 (stale) when the gateway's data is older than
    ``stale_after_s`` of wall time, so a silent feed fails closed whatever its own clock says."""
    feed = clock.current()
    age, newest = feed.age_s(), feed.newest_ns()
    fresh = age is not None and newest is not None and age <= stale_after_s
    return MarketState(last_price=last_price, last_data_ns=newest if fresh else 0)
