"""The IB adapter against the loopback TWS, once with ``ib_insync`` and once with ``ib_async``.

``Venue`` wires what ``run_gateway --feed ibkr --broker ibkr`` wires (session, feed, broker, desk,
gateway) in the test's process and drives the gateway's loop one event at a time (``pump``), so a
scenario can script the server between steps and read the database after each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction

from tests.ibkr.loopback import ACCOUNT, FutureSpec, LoopbackTws
from trading import services
from trading.adapters.ibkr.broker import IbBroker
from trading.adapters.ibkr.config import IbConfig
from trading.adapters.ibkr.connection import IbSession
from trading.adapters.ibkr.feed import IbFeed
from trading.live import runtime
from trading.live.commands import Action, Command
from trading.models import Order, OrderIntent

LIBRARIES = ("ib_insync", "ib_async")
for _name in LIBRARIES:  # their INFO lines print whole Trade objects; MIA's own log says what happened
    logging.getLogger(_name).setLevel(logging.WARNING)
TODAY = datetime.now(UTC).date()


def es_contracts(today: date = TODAY) -> list[FutureSpec]:
    """Two listed ES months around ``today``: the front one 30 days out, the next 120."""
    out = []
    for con_id, days, code in ((495512551, 30, "ESZ6"), (495512552, 120, "ESH7")):
        expiry = today + timedelta(days=days)
        out.append(FutureSpec(con_id=con_id, local_symbol=code, last_trade=expiry.strftime("%Y%m%d"),
                              real_expiration=expiry.strftime("%Y%m%d"),
                              trading_hours=f"{today:%Y%m%d}:1700-{today + timedelta(days=1):%Y%m%d}:1600"))
    return out


FRONT = 495512551


@pytest.fixture(params=LIBRARIES)
def library(request) -> str:
    return request.param


@pytest.fixture
def tws():
    server = LoopbackTws(contracts=es_contracts()).start()
    yield server
    server.stop()


class Venue:
    def __init__(self, tws: LoopbackTws, library: str, *, client_id: int = 7, backfill: bool = False) -> None:
        self.tws = tws
        config = IbConfig(port=tws.port, client_id=client_id, account=ACCOUNT, timeout_s=4.0,
                          backoff_initial_s=0.2, backoff_max_s=0.5)
        self.session = IbSession(config, library=library)
        self.feed = IbFeed(self.session, backfill=backfill, today=TODAY)
        self.broker = IbBroker(self.session, lambda: self.feed.ib_contract)
        self.gateway, self.problems = runtime.build_gateway(self.feed, speed=1.0, enqueue=None, on_fill=None,
                                                            pushes=False, broker=self.broker, broker_name="ibkr")
        self.desk = self.gateway.desk
        self.events = self.feed.events()

    def pump(self, until: Callable[[], object] | None = None, *, timeout: float = 6.0, seconds: float | None = None):
        """Run the gateway's loop until ``until()`` is true (or for ``seconds``); fails on timeout."""
        deadline = time.monotonic() + (seconds if seconds is not None else timeout)
        while time.monotonic() < deadline:
            self.gateway.step(next(self.events))
            if until is not None:
                result = until()
                if result:
                    return result
        if until is not None and seconds is None:
            raise AssertionError(f"condition not met within {timeout} s")
        return None

    def connected(self) -> None:
        self.pump(lambda: self.session.state.connected and self.feed.ib_contract is not None
                  and not self.broker.reconcile_due)

    def command(self, command: Command) -> str:
        with transaction.atomic():
            return self.desk.handle(command)

    def close(self) -> None:
        self.feed.stop()
        self.session.disconnect()


@pytest.fixture
def venue(tws, library, trading_state):
    made: list[Venue] = []

    def make(**kwargs) -> Venue:
        v = Venue(tws, library, **kwargs)
        made.append(v)
        return v

    yield make
    for v in made:
        v.close()


def entry(coid: str = "E1", *, side: str = "BUY", qty: int = 1, atr: float = 2.0) -> Order:
    """An entry the worker decided just now (as ``execution._send_entry`` writes it)."""
    intent = OrderIntent.objects.create(client_order_id=coid, bracket_id=coid, role=OrderIntent.Role.ENTRY,
                                        symbol="ES", side=side, qty=qty, order_type=OrderIntent.Type.MARKET,
                                        atr=atr, decided_at=datetime.now(UTC),
                                        bracket={"stop_atr_mult": 1.5, "target_r": 2.0})
    return Order.objects.create(intent=intent, client_order_id=coid)


def ready(make) -> Venue:
    """A venue connected and reconciled, with a last price for the bracket's first levels."""
    v = make()
    v.connected()
    v.desk.book.last_price = 5000.0
    return v


def submit(v: Venue, coid: str, **fields) -> str:
    """An entry decided now and its submit command carried out at the desk."""
    entry(coid, **fields)
    return v.command(Command(Action.SUBMIT, coid))


def state_of(coid: str) -> str:
    return Order.objects.get(client_order_id=coid).state


def halted() -> str | None:
    state = services.ensure_trading_state()
    return state.reason if state.state == "HALTED" else None
