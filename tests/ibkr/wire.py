"""The loopback TWS's state records and server-to-client message layouts at server version 176, as the clients' decoders
read them (``ib_insync``/``ib_async`` ``decoder.openOrder``, ``orderStatus``, ``execDetails``,
``commissionReport``). Empty fields are the decoders' defaults."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from datetime import datetime

SERVER_VERSION = 176


def num(value: float | None) -> str:
    return repr(float(value)) if value is not None else ""


def frame(fields: list[object]) -> bytes:
    body = "".join(f"{'' if f is None else f}\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body




@dataclass
class FutureSpec:
    con_id: int
    local_symbol: str
    last_trade: str  # YYYYMMDD
    real_expiration: str = ""
    symbol: str = "ES"
    sec_type: str = "FUT"
    exchange: str = "CME"
    currency: str = "USD"
    multiplier: str = "50"
    trading_class: str = "ES"
    time_zone: str = "US/Central"
    trading_hours: str = ""
    liquid_hours: str = ""
    strike: float = 0.0
    right: str = ""

    def fields11(self) -> list[object]:
        """conId .. tradingClass as in openOrder, execDetails and position."""
        return [self.con_id, self.symbol, self.sec_type, self.last_trade, num(self.strike), self.right,
                self.multiplier, self.exchange, self.currency, self.local_symbol, self.trading_class]


@dataclass
class ServerOrder:
    order_id: int
    client_id: int
    perm_id: int
    con_id: int
    action: str
    qty: float
    order_type: str
    lmt: float | None
    aux: float | None
    oca: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    status: str = "PreSubmitted"
    filled: float = 0.0
    avg_price: float = 0.0

    @property
    def done(self) -> bool:
        return self.status in ("Filled", "Cancelled", "Inactive")

    @property
    def remaining(self) -> float:
        return self.qty - self.filled


@dataclass
class ServerExecution:
    exec_id: str
    order: ServerOrder
    shares: float
    price: float
    when: datetime
    commission: float
    cum_qty: float
    avg_price: float


@dataclass
class Peer:
    writer: asyncio.StreamWriter
    client_id: int | None = None
    version: int = SERVER_VERSION
    tick_reqs: dict[int, tuple[int, str]] = field(default_factory=dict)  # reqId -> (conId, type)
    mkt_reqs: dict[int, int] = field(default_factory=dict)  # reqId -> conId


def open_order(o: ServerOrder, spec: FutureSpec) -> list[object]:
    return [
        5, o.order_id, *spec.fields11(), o.action, num(o.qty), o.order_type,
        num(o.lmt) if o.lmt is not None else "", num(o.aux) if o.aux is not None else "", "DAY", o.oca,
        o.account, "O", 0, o.order_ref, o.client_id, o.perm_id, 0, 0, "0", "", "", "", "", "", "", "", "", "",
        "", "", 0, "", -1, 0, "", "", "", "", "", 0, 0, 0, 0, "", 0, 0, 0, 0, o.parent_id, 0, "", 0, "", "",
        # continuousUpdate .. comboLegsDescrip, legs, order legs, params
        0, 0, "", "", "", "", "", 0, 0, 0,
        # scale, hedge, opt-out .. dnc, algo
        "", "", "", "", 0, "", "", 0, 0, "",
        # solicited, whatIf, status, margins x9, commissions x3, currency, warning, randomize x2
        0, 0, o.status, "", "", "", "", "", "", "", "", "", "", "", "", "", "", 0, 0,
        0,  # conditions
        "", "", "", "", "", "", "", "", "", "", "", "", 0, 0, "", 0,  # adjusted .. usePriceMgmtAlgo
        "", 0, 0,  # duration, postToAts, autoCancelParent
        "", "", 0, "", "",  # minTradeQty .. midOffsetAtHalf
    ]

def status(o: ServerOrder) -> list[object]:
    return [3, o.order_id, o.status, num(o.filled), num(o.remaining), num(o.avg_price), o.perm_id,
            o.parent_id, num(o.avg_price), o.client_id, "", ""]

def exec_details(req_id: int, ex: ServerExecution, spec: FutureSpec) -> list[object]:
    o = ex.order
    return [11, req_id, o.order_id, *spec.fields11(), ex.exec_id, ex.when.strftime("%Y%m%d %H:%M:%S UTC"),
            o.account, "CME", "BOT" if o.action == "BUY" else "SLD", num(ex.shares), num(ex.price), o.perm_id,
            o.client_id, 0, num(ex.cum_qty), num(ex.avg_price), o.order_ref, "", "", "", 1]

def commission(ex: ServerExecution) -> list[object]:
    return [59, 1, ex.exec_id, num(ex.commission), "USD", "", "", ""]
