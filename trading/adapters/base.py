"""What the gateway needs of an outside system: a ``Feed`` of market data and a ``Broker`` that works orders.

Each adapter (``paper/``, ``sim/``, ``replay/``; Interactive Brokers and Sierra Chart DTC next) is one
folder with both directions of its system side by side, behind these two protocols, so the gateway,
the desk and the tests see every venue the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from trading.engine.bars import ClosedBar
from trading.engine.matching import Execution, WorkingOrder
from trading.engine.ticks import Tick

__all__ = ["Broker", "BrokerUnavailable", "ClosedBar", "Execution", "Feed", "History", "Idle", "Rejection", "Tick",
           "WorkingOrder"]


class BrokerUnavailable(ConnectionError):
    """The venue cannot take orders right now (disconnected, IB 1100): the command is kept and retried
    when it is back, never counted as a failure of the command itself."""


@dataclass(frozen=True)
class Idle:
    """A live feed's "nothing new at ``now_ns``" (wall time): the gateway closes the minute's bar on time,
    reads commands and the broker's reports even while the market is silent."""

    now_ns: int


@dataclass(frozen=True)
class History:
    """Closed bars from the venue's history (the engine's warm-up): stored, never traded on."""

    bars: tuple[ClosedBar, ...]


@dataclass(frozen=True)
class Rejection:
    """The venue refused an order (IB error 201 ...): the order is rejected with the venue's words."""

    client_order_id: str
    code: int
    text: str


@runtime_checkable
class Feed(Protocol):
    """Market data, in time order: trade prints (``Tick``) or, for feeds that only have bars (a bar file,
    a venue's history), closed bars (``ClosedBar``). ``kind`` says which ("ticks" or "bars"), so the paper
    broker knows whether it has quotes to match against. ``simulated`` marks data that is not a real market.
    A live venue's feed also yields ``Idle`` and ``History`` events and has ``realtime = True`` (the
    gateway never paces it)."""

    source: str
    simulated: bool
    kind: str

    def events(self) -> Iterable[Tick | ClosedBar]: ...


@runtime_checkable
class Broker(Protocol):
    """Working orders at a venue and the executions it reports. Every method is idempotent on the
    client order id: a repeated submit or cancel changes nothing."""

    session: str
    position: int

    @property
    def working(self) -> Mapping[str, WorkingOrder]: ...

    def submit(self, order: WorkingOrder) -> bool: ...

    def cancel(self, client_order_id: str) -> bool: ...

    def modify(self, client_order_id: str, price: float) -> bool: ...

    def on_tick(self, tick: Tick) -> tuple[list[Execution], list[str]]: ...

    def on_bar(self, bar: ClosedBar) -> tuple[list[Execution], list[str]]: ...
