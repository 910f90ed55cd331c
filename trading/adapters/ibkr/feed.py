"""ES market data from IB: the front month, its trades and quotes tick by tick, and a warm-up from history.

``IbFeed.events()`` yields, on the gateway's thread:

* ``History``: at the first connection, the last day of 1-minute bars (``reqHistoricalData``, within
  IB's pacing), which the gateway stores for the engine's warm-up and never trades on;
* ``Tick``: every trade print (tick-by-tick ``AllLast``) with the quote prevailing then (``BidAsk``);
  the aggressor is read from that quote (at or above the ask: a buy; at or below the bid: a sell);
  the gateway validates and builds bars from them as from every other feed;
* ``Idle``: several times a second, so bars close on time and commands get through when the market
  is silent.

The contract is resolved from ``reqContractDetails`` (the nearest not inside its roll window, see
``contracts``) at the first connection and again at every session open; IB's trading hours are
checked against MIA's CME calendar and any disagreement is logged. Every (re)connection, and IB's
1101, renew the subscriptions. IB stamps tick-by-tick data to the second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

from trading.adapters.base import ClosedBar, History, Idle, Tick
from trading.adapters.ibkr import contracts
from trading.adapters.ibkr.connection import IbSession
from trading.adapters.ibkr.contracts import FutureContract
from trading.adapters.ibkr.pacing import HistoricalPacer
from trading.engine.calendar import CmeCalendar
from trading.engine.ticks import BUY, NS_PER_S, SELL, UNKNOWN
from trading.engine.tradedate import trade_date as trade_date_of

log = logging.getLogger(__name__)
IDLE_EVERY_S = 0.1
HISTORY_DURATION = "1 D"


class IbFeed:
    source = "ibkr"
    simulated = False
    kind = "ticks"
    realtime = True

    def __init__(self, session: IbSession, *, symbol: str = "ES", calendar: CmeCalendar | None = None,
                 backfill: bool = True, today: date | None = None) -> None:
        self.session = session
        self.symbol = symbol
        self.calendar = calendar or CmeCalendar()
        self.backfill = backfill
        self.contract: FutureContract | None = None
        self.ib_contract = None
        self.pacer = HistoricalPacer()
        self._today = today
        self._ticker = None
        self._generation = -1
        self._trade_date: date | None = None
        self._pending: list[Tick] = []
        self._bid: float | None = None
        self._ask: float | None = None
        self._bid_size: float | None = None
        self._ask_size: float | None = None
        self._backfilled = False
        self._stopping = False
        self.session.ib.pendingTickersEvent += self._on_tickers

    def stop(self) -> None:
        self._stopping = True

    # -- the stream -----------------------------------------------------------------------------------
    def events(self) -> Iterator[Tick | History | Idle]:
        while not self._stopping:
            if not self.session.ensure():
                self.session.wait(IDLE_EVERY_S)
                yield Idle(time.time_ns())
                continue
            try:
                history = self._subscribe() if self._needs_subscription() else []
            except (ConnectionError, TimeoutError) as exc:
                # The link dropped mid-request: resubscribe after the reconnection.
                log.warning("IB request failed (%s: %s); retried after the reconnection", type(exc).__name__, exc)
                self._ticker, self._trade_date = None, None
                yield Idle(time.time_ns())
                continue
            if history:
                yield History(tuple(history))
            self.session.wait(IDLE_EVERY_S)
            ticks, self._pending = self._pending, []
            yield from ticks
            yield Idle(time.time_ns())

    def _needs_subscription(self) -> bool:
        trade_date = trade_date_of(time.time_ns()) if self._today is None else self._today
        if trade_date != self._trade_date:  # a new session: the front month may have rolled
            self._trade_date = trade_date
            self._resolve(trade_date)
            return True
        return self.session.generation != self._generation or self._ticker is None

    def _resolve(self, today: date) -> None:
        listed = self.session.ib.reqContractDetails(self.session.lib.Future(
            symbol=self.symbol, exchange="CME", currency="USD"))
        found = [contracts.from_details(d) for d in listed if d.contract.secType == "FUT"]
        chosen = contracts.front_month(found, today, roll_days=self.session.config.roll_days)
        if self.contract is None or chosen.con_id != self.contract.con_id:
            previous = self.contract.local_symbol if self.contract else None
            log.warning("active contract %s (conId %d, expires %s)%s", chosen.local_symbol, chosen.con_id,
                        chosen.expiry, f", rolled from {previous}" if previous else "")
            self._unsubscribe()
        self.contract = chosen
        self.ib_contract = contracts.to_ib(chosen, self.session.lib)
        for problem in contracts.disagreements(contracts.sessions(chosen.trading_hours, chosen.time_zone),
                                               self.calendar.is_open)[:3]:
            log.warning("trading hours: %s", problem)

    def _subscribe(self) -> list[ClosedBar]:
        """Tick-by-tick trades and quotes on the active contract; the warm-up history the first time."""
        ib = self.session.ib
        self._ticker = None
        self._generation = self.session.generation
        history = self._history() if self.backfill and not self._backfilled else []
        self._ticker = ib.reqTickByTickData(self.ib_contract, "BidAsk")
        ib.reqTickByTickData(self.ib_contract, "AllLast")
        log.info("subscribed to %s tick by tick (trades and quotes)", self.contract.local_symbol)
        return history

    def _unsubscribe(self) -> None:
        if self._ticker is None or not self.session.socket_up:
            self._ticker = None
            return
        for kind in ("BidAsk", "AllLast"):
            try:
                self.session.ib.cancelTickByTickData(self.ib_contract, kind)
            except Exception:  # noqa: BLE001 - the old subscription dies with the connection anyway
                log.debug("cancel tick-by-tick", exc_info=True)
        self._ticker = None

    def _history(self) -> list[ClosedBar]:
        key = (self.contract.con_id, HISTORY_DURATION, "1 min", "TRADES")
        wait = self.pacer.wait_for(key)
        if wait > 0:
            log.info("historical request paced: %.1f s", wait)
            self.session.wait(wait)
        self.pacer.record(key)
        try:
            bars = self.session.ib.reqHistoricalData(
                self.ib_contract, endDateTime="", durationStr=HISTORY_DURATION, barSizeSetting="1 min",
                whatToShow="TRADES", useRTH=False, formatDate=2, timeout=self.session.config.timeout_s)
        except Exception as exc:  # noqa: BLE001 - no warm-up is not a reason to stop the live feed
            log.warning("history backfill failed (%s); the engine warms up from live bars", exc)
            return []
        self._backfilled = True
        now = time.time()
        out = []
        for bar in bars or []:
            start = bar.date if isinstance(bar.date, datetime) else datetime.fromisoformat(str(bar.date))
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
            if start.timestamp() + 60 > now:
                continue  # the minute still forming comes from the live ticks
            out.append(ClosedBar(symbol=self.symbol, ts=start.astimezone(UTC), open=bar.open, high=bar.high,
                                 low=bar.low, close=bar.close, volume=float(bar.volume), buy_volume=0.0,
                                 sell_volume=0.0, bid=None, ask=None, tick_count=int(bar.barCount or 0)))
        log.info("history: %d one-minute bars of %s", len(out), self.contract.local_symbol)
        return out

    # -- ticks ----------------------------------------------------------------------------------------
    def _on_tickers(self, tickers) -> None:
        """Copy every tick-by-tick item now (the client clears them with the next batch), in arrival order."""
        for ticker in tickers:
            if ticker is not self._ticker:
                continue
            for item in ticker.tickByTicks:
                if hasattr(item, "bidPrice"):
                    self._bid, self._ask = item.bidPrice or None, item.askPrice or None
                    self._bid_size, self._ask_size = item.bidSize, item.askSize
                elif hasattr(item, "price"):
                    self._pending.append(self._tick(item))

    def _tick(self, item) -> Tick:
        price, bid, ask = float(item.price), self._bid, self._ask
        side = UNKNOWN
        if ask is not None and price >= ask:
            side = BUY
        elif bid is not None and price <= bid:
            side = SELL
        stamp = item.time
        ts_ns = int(stamp.timestamp()) * NS_PER_S if isinstance(stamp, datetime) else int(stamp) * NS_PER_S
        return Tick(ts_ns=ts_ns, price=price, size=float(item.size), bid=bid, ask=ask, bid_size=self._bid_size,
                    ask_size=self._ask_size, side=side)

    def status(self) -> dict:
        return {"contract": self.contract.local_symbol if self.contract else None,
                "market_data": self.session.market_data_ok}
