"""A loopback TWS: a small asyncio server that speaks the TWS API wire protocol, driven by a test's script.

The real ``ib_insync`` and ``ib_async`` clients connect to it as to IB Gateway: the ``API\\0`` handshake
with a client version range, the server version and connection time in reply, then messages framed
by a 4-byte big-endian length, each a list of NUL-terminated fields. It answers what MIA's adapter
asks (start API, positions, open and completed orders, account updates, executions, contract
details, historical bars, tick-by-tick data, option parameters and option market data, order
placement and cancellation) from its own state, which a test scripts: contracts, positions, prices,
fills, errors, a dropped socket, a restart with a lower next order id.

It is an exchange simulator only as far as a test needs: market orders fill when told to (or at once
with ``auto_fill``), stops and limits fill when a test says so, bracket children are held until their
parent fills and one-cancels-other. Everything it receives is recorded (``received``) so a test can
assert what reached the "broker". The message layouts follow the clients' decoders at server
version 176 (``ib_insync`` speaks 157-176, ``ib_async`` 157-178).
"""

from __future__ import annotations

import asyncio
import itertools
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tests.ibkr import wire
from tests.ibkr.wire import SERVER_VERSION, FutureSpec, Peer, ServerExecution, ServerOrder, frame, num

ACCOUNT = "DU1234567"


class LoopbackTws:
    """Start with ``start()``; every public method is safe to call from the test's thread."""

    def __init__(self, *, accounts: tuple[str, ...] = (ACCOUNT,), next_valid_id: int = 1,
                 contracts: list[FutureSpec] | None = None) -> None:
        self.accounts = accounts
        self.next_valid_id = next_valid_id
        self.contracts: list[FutureSpec] = contracts or []
        self.positions: dict[int, tuple[float, float]] = {}  # conId -> (qty, avg cost per contract)
        self.orders: dict[int, ServerOrder] = {}  # permId -> order
        self.executions: list[ServerExecution] = []
        self.received: list[list[str]] = []
        self.history: dict[int, list[tuple[int, float, float, float, float, float]]] = {}  # conId -> bars
        self.option_params: dict[int, tuple[list[str], list[float]]] = {}  # underlying conId -> (expiries, strikes)
        self.option_quotes: dict[tuple[str, float, str], tuple[float, float, float, float]] = {}
        self.spot: dict[str, float] = {}
        self.auto_fill: float | None = None  # fill market orders at this price as soon as they are live
        self.reject_next: tuple[int, str] | None = None
        self.drop_on_place = False  # drop the socket right after the next transmitted order reaches IB
        self.discard_on_place = False  # drop the socket on the next order, which never reaches IB
        self.refuse_client_ids: set[int] = set()
        self.errors_sent: list[tuple[int, int]] = []
        self._perm = itertools.count(900001)
        self._exec = itertools.count(1)
        self._peers: list[Peer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> LoopbackTws:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="loopback-tws", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("loopback TWS did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            self._server.close()
            for peer in list(self._peers):
                peer.writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            await asyncio.wait(tasks, timeout=1) if tasks else None  # each ends on its closed socket
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(5)
        self._loop = None

    def call(self, fn: Callable[[], object]) -> object:
        """Run ``fn`` on the server's loop and return its result."""
        async def wrapper() -> object:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(5)

    def drop(self) -> None:
        """Close every client socket, as a gateway crash or a network cut does."""
        self.call(lambda: [peer.writer.close() for peer in list(self._peers)])

    def restart(self, *, next_valid_id: int, keep_orders: bool = True) -> None:
        """A gateway restart: sockets dropped, the order id sequence starts again at ``next_valid_id``."""
        self.drop()
        self.next_valid_id = next_valid_id
        if not keep_orders:
            self.orders.clear()

    @property
    def connected_clients(self) -> list[int]:
        return [p.client_id for p in self._peers if p.client_id is not None]

    def messages(self, msg_id: int) -> list[list[str]]:
        return [m for m in list(self.received) if m and m[0] == str(msg_id)]

    # -- scripting ------------------------------------------------------------------------------------
    def send_error(self, req_id: int, code: int, text: str) -> None:
        self.call(lambda: self._broadcast(self._error(req_id, code, text)))

    def trade(self, con_id: int, price: float, size: float, *, when: int | None = None) -> None:
        """A trade print to every tick-by-tick AllLast subscriber of ``con_id``."""
        stamp = int(time.time()) if when is None else when
        self.call(lambda: self._ticks(con_id, "AllLast", [99, None, 1, stamp, num(price), num(size), 0, "CME", ""]))

    def quote(self, con_id: int, bid: float, ask: float, bid_size: float = 10, ask_size: float = 10, *,
              when: int | None = None) -> None:
        stamp = int(time.time()) if when is None else when
        self.call(lambda: self._ticks(con_id, "BidAsk", [99, None, 3, stamp, num(bid), num(ask), num(bid_size),
                                                         num(ask_size), 0]))

    def fill(self, order_ref: str, price: float, qty: float | None = None) -> None:
        """Fill (part of) the live order whose orderRef is ``order_ref``."""
        def go() -> None:
            order = self.order(order_ref)
            if order is None or order.done or order.status != "Submitted":
                raise AssertionError(f"order {order_ref} is not live: {order}")
            self._fill(order, price, order.remaining if qty is None else qty)
        self.call(go)

    def order(self, order_ref: str) -> ServerOrder | None:
        matches = [o for o in self.orders.values() if o.order_ref == order_ref]
        return matches[-1] if matches else None

    def live_orders(self) -> list[ServerOrder]:
        return [o for o in self.orders.values() if not o.done]

    def set_position(self, con_id: int, qty: float, avg_cost: float) -> None:
        self.positions[con_id] = (qty, avg_cost)

    def add_order(self, order: ServerOrder) -> None:
        """An order IB holds already (placed before this scenario, or by hand in TWS)."""
        self.orders[order.perm_id] = order

    def new_perm_id(self) -> int:
        return next(self._perm)

    # -- the protocol ---------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(writer)
        self._peers.append(peer)
        try:
            prefix = await reader.readexactly(4)
            if prefix != b"API\0":
                return
            size = struct.unpack(">I", await reader.readexactly(4))[0]
            versions = (await reader.readexactly(size)).decode()
            low, high = (int(v) for v in versions.lstrip("v").split(" ")[0].split(".."))
            peer.version = min(high, SERVER_VERSION)
            if peer.version < low:
                return
            writer.write(frame([peer.version, datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")]))
            while True:
                size = struct.unpack(">I", await reader.readexactly(4))[0]
                fields = (await reader.readexactly(size)).decode().split("\0")[:-1]
                self.received.append(fields)
                self._handle(peer, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if peer in self._peers:
                self._peers.remove(peer)
            writer.close()

    def _send(self, peer: Peer, fields: list[object]) -> None:
        if not peer.writer.is_closing():
            peer.writer.write(frame(fields))

    def _broadcast(self, fields: list[object]) -> None:
        for peer in self._peers:
            self._send(peer, fields)

    @staticmethod
    def _error(req_id: int, code: int, text: str) -> list[object]:
        return [4, 2, req_id, code, text, ""]

    def _handle(self, peer: Peer, f: list[str]) -> None:  # noqa: C901 - one branch per message id
        msg = int(f[0])
        if msg == 71:  # startApi
            peer.client_id = int(f[2])
            if peer.client_id in self.refuse_client_ids:
                self._send(peer, self._error(-1, 326, "Unable to connect as the client id is already in use. "
                                                      "Retry with a unique client id."))
                peer.writer.close()
                return
            self._send(peer, [15, 1, ",".join(self.accounts)])
            self._send(peer, [9, 1, self.next_valid_id])
        elif msg == 61:  # reqPositions
            for con_id, (qty, cost) in self.positions.items():
                spec = self._spec(con_id)
                self._send(peer, [61, 3, self.accounts[0], *spec.fields11(), num(qty), num(cost)])
            self._send(peer, [62, 1])
        elif msg in (5, 16):  # reqOpenOrders, reqAllOpenOrders
            for order in self.orders.values():
                if not order.done and (msg == 16 or order.client_id == peer.client_id):
                    self._send(peer, self._open_order(order))
                    self._send(peer, self._status(order))
            self._send(peer, [53, 1])
        elif msg == 99:  # reqCompletedOrders
            self._send(peer, [102])
        elif msg == 6:  # reqAccountUpdates
            self._send(peer, [54, 1, f[3]])
        elif msg == 76:  # reqAccountUpdatesMulti
            self._send(peer, [74, 1, f[2]])
        elif msg == 7:  # reqExecutions
            req_id = int(f[2])
            for ex in self.executions:
                self._send(peer, self._exec_details(req_id, ex))
                self._send(peer, self._commission(ex))
            self._send(peer, [55, 1, req_id])
        elif msg == 9:  # reqContractDetails
            self._contract_details(peer, int(f[2]), f[3:15])
        elif msg == 20:  # reqHistoricalData
            self._historical(peer, int(f[1]), int(f[2] or 0))
        elif msg == 97:  # reqTickByTickData
            peer.tick_reqs[int(f[1])] = (int(f[2] or 0), f[14])
        elif msg == 98:
            peer.tick_reqs.pop(int(f[1]), None)
        elif msg == 1:  # reqMktData
            self._market_data(peer, int(f[2]), f[3:15])
        elif msg == 2:  # cancelMktData
            peer.mkt_reqs.pop(int(f[2]), None)
        elif msg == 78:  # reqSecDefOptParams
            self._option_params(peer, int(f[1]), int(f[5] or 0))
        elif msg == 3:  # placeOrder
            self._place(peer, f)
        elif msg == 4:  # cancelOrder
            self._cancel(peer, int(f[2]))
        elif msg == 58:  # reqGlobalCancel
            for order in list(self.orders.values()):
                if not order.done:
                    self._set_status(order, "Cancelled")
        elif msg == 8:  # reqIds
            self._send(peer, [9, 1, self.next_valid_id])
        # Everything else (market data type, account summary ...) needs no answer here.

    def _spec(self, con_id: int) -> FutureSpec:
        for spec in self.contracts:
            if spec.con_id == con_id:
                return spec
        return FutureSpec(con_id=con_id, local_symbol="", last_trade="")

    # -- contracts and data ---------------------------------------------------------------------------
    def _contract_details(self, peer: Peer, req_id: int, c: list[str]) -> None:
        con_id, symbol, sec_type = int(c[0] or 0), c[1], c[2]
        for spec in self.contracts:
            if (con_id and spec.con_id == con_id) or (not con_id and spec.symbol == symbol
                                                      and spec.sec_type == sec_type):
                self._send(peer, [
                    10, req_id, spec.symbol, spec.sec_type, spec.last_trade, num(spec.strike), spec.right,
                    spec.exchange, spec.currency, spec.local_symbol, spec.symbol, spec.trading_class, spec.con_id,
                    "0.25", spec.multiplier, "LMT,MKT,STP", spec.exchange, 1, 0, "E-mini S&P 500", "",
                    spec.last_trade[:6], "", "", "", spec.time_zone, spec.trading_hours, spec.liquid_hours,
                    "", "", 0, 1, "", "", "67,67", spec.real_expiration, "", "1", "1", "1"])
        self._send(peer, [52, 1, req_id])

    def _historical(self, peer: Peer, req_id: int, con_id: int) -> None:
        bars = self.history.get(con_id, [])
        start = bars[0][0] if bars else 0
        end = bars[-1][0] if bars else 0
        out: list[object] = [17, req_id, start, end, len(bars)]
        for stamp, o, h, lo, c, v in bars:
            out += [stamp, num(o), num(h), num(lo), num(c), num(v), num((h + lo) / 2), 10]
        self._send(peer, out)

    def _ticks(self, con_id: int, kind: str, fields: list[object]) -> None:
        for peer in self._peers:
            for req_id, (want_con, want_kind) in peer.tick_reqs.items():
                if want_con == con_id and want_kind == kind:
                    self._send(peer, [fields[0], req_id, *fields[2:]])

    def _market_data(self, peer: Peer, req_id: int, c: list[str]) -> None:
        symbol, sec_type = c[1], c[2]
        if sec_type == "IND":
            spot = self.spot.get(symbol)
            if spot is not None:
                self._send(peer, [1, 6, req_id, 4, num(spot), 0, 0])  # last
                self._send(peer, [1, 6, req_id, 9, num(spot), 0, 0])  # close
            return
        if sec_type == "OPT":
            key = (c[3], float(c[4] or 0), c[5])
            quote = self.option_quotes.get(key)
            if quote is None:
                return
            oi, iv, delta, gamma = quote
            oi_tick = 27 if c[5].startswith("C") else 28
            self._send(peer, [2, 6, req_id, oi_tick, num(oi)])
            und = self.spot.get(c[1].replace("W", ""), 0.0)
            self._send(peer, [21, req_id, 13, 0, num(iv), num(delta), num(1.0), num(0.0), num(gamma),
                              num(0.1), num(-0.1), num(und)])

    def _option_params(self, peer: Peer, req_id: int, con_id: int) -> None:
        expiries, strikes = self.option_params.get(con_id, ([], []))
        if expiries:
            self._send(peer, [75, req_id, "SMART", con_id, "SPX", "100", len(expiries), *expiries,
                              len(strikes), *[num(s) for s in strikes]])
        self._send(peer, [76, req_id])

    # -- orders ---------------------------------------------------------------------------------------
    def _place(self, peer: Peer, f: list[str]) -> None:
        order_id = int(f[1])
        con_id = int(f[2] or 0)
        existing = next((o for o in self.orders.values()
                         if o.order_id == order_id and o.client_id == peer.client_id and not o.done), None)
        if self.reject_next is not None:
            code, text = self.reject_next
            self.reject_next = None
            self._send(peer, self._error(order_id, code, text))
            self.errors_sent.append((order_id, code))
            return
        if existing is not None:  # a modification: price and quantity
            existing.qty = float(f[17])
            existing.lmt = float(f[19]) if f[19] else None
            existing.aux = float(f[20]) if f[20] else None
            existing.transmit = f[27] == "1"
            self._send(peer, self._open_order(existing))
            self._send(peer, self._status(existing))
            return
        order = ServerOrder(order_id=order_id, client_id=peer.client_id or 0, perm_id=next(self._perm),
                            con_id=con_id, action=f[16], qty=float(f[17]), order_type=f[18],
                            lmt=float(f[19]) if f[19] else None, aux=float(f[20]) if f[20] else None, oca=f[22],
                            account=f[23], order_ref=f[26], transmit=f[27] == "1", parent_id=int(f[28] or 0),
                            status="PendingSubmit")
        if self.discard_on_place:  # the socket dies before the order reaches IB
            self.discard_on_place = False
            peer.writer.close()
            return
        self.orders[order.perm_id] = order
        if self.drop_on_place and order.transmit:  # IB takes the order; the socket dies before any answer
            self.drop_on_place = False
            peer.writer.close()
            self._activate(order)
            return
        if order.transmit:
            self._activate(order)
        else:
            self._send(peer, self._open_order(order))

    def _family(self, order: ServerOrder) -> list[ServerOrder]:
        """The order with the held orders of its bracket (same client, parent id)."""
        parent_id = order.parent_id or order.order_id
        return [o for o in self.orders.values() if o.client_id == order.client_id and not o.done
                and (o.order_id == parent_id or o.parent_id == parent_id)]

    def _activate(self, last: ServerOrder) -> None:
        """``transmit`` on the last order releases its whole bracket: the parent works, children wait."""
        for order in self._family(last):
            order.transmit = True
            child = order.parent_id != 0 and self._parent(order) is not None and not self._parent(order).done \
                and self._parent(order).filled < self._parent(order).qty
            self._set_status(order, "PreSubmitted" if child else "Submitted")
        if self.auto_fill is not None:
            for order in self._family(last):
                if order.order_type == "MKT" and order.status == "Submitted":
                    self._fill(order, self.auto_fill, order.remaining)

    def _parent(self, order: ServerOrder) -> ServerOrder | None:
        return next((o for o in self.orders.values()
                     if o.client_id == order.client_id and o.order_id == order.parent_id), None)

    def _cancel(self, peer: Peer, order_id: int) -> None:
        order = next((o for o in self.orders.values()
                      if o.order_id == order_id and o.client_id == peer.client_id and not o.done), None)
        if order is None:
            self._send(peer, self._error(order_id, 10147, f"OrderId {order_id} that needs to be cancelled is "
                                                          f"not found."))
            return
        self._send(peer, self._error(order_id, 202, "Order Canceled - reason:"))
        self._set_status(order, "Cancelled")
        for child in [o for o in self.orders.values() if o.parent_id == order.order_id
                      and o.client_id == order.client_id and not o.done]:
            self._set_status(child, "Cancelled")

    def _set_status(self, order: ServerOrder, status: str) -> None:
        order.status = status
        for peer in self._peers:
            if peer.client_id == order.client_id:
                self._send(peer, self._open_order(order))
                self._send(peer, self._status(order))

    def _fill(self, order: ServerOrder, price: float, qty: float) -> None:
        qty = min(qty, order.remaining)
        order.avg_price = (order.avg_price * order.filled + price * qty) / (order.filled + qty)
        order.filled += qty
        side = 1 if order.action == "BUY" else -1
        held, cost = self.positions.get(order.con_id, (0.0, 0.0))
        new = held + side * qty
        self.positions[order.con_id] = (new, price * 50 if new else 0.0)
        ex = ServerExecution(exec_id=f"0000e0d5.{next(self._exec):08x}.01.01", order=order, shares=qty, price=price,
                             when=datetime.now(UTC), commission=round(2.25 * qty, 2), cum_qty=order.filled,
                             avg_price=order.avg_price)
        self.executions.append(ex)
        if order.filled >= order.qty:
            order.status = "Filled"
        for peer in self._peers:
            if peer.client_id == order.client_id:
                self._send(peer, self._exec_details(-1, ex))
                self._send(peer, self._status(order))
                self._send(peer, self._commission(ex))
        if order.status == "Filled":
            # Children of a filled parent start working; a filled child cancels its OCA siblings.
            for child in [o for o in self.orders.values() if o.parent_id == order.order_id
                          and o.client_id == order.client_id and not o.done]:
                self._set_status(child, "Submitted")
            if order.oca:
                for other in [o for o in self.orders.values() if o.oca == order.oca and o is not order
                              and not o.done]:
                    self._set_status(other, "Cancelled")

    # -- message layouts: tests/ibkr/wire.py ------------------------------------------------------------
    def _open_order(self, o: ServerOrder) -> list[object]:
        return wire.open_order(o, self._spec(o.con_id))

    @staticmethod
    def _status(o: ServerOrder) -> list[object]:
        return wire.status(o)

    def _exec_details(self, req_id: int, ex: ServerExecution) -> list[object]:
        return wire.exec_details(req_id, ex, self._spec(ex.order.con_id))

    @staticmethod
    def _commission(ex: ServerExecution) -> list[object]:
        return wire.commission(ex)
