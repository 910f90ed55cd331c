"""One API connection to IB Gateway or TWS, shared by the feed and the broker in the gateway process.

Connecting: the configured client id first; IB's error 326 (client id in use) is said in the log and
the next id is tried (``client_id_attempts`` in all). A failed or lost connection is retried with
capped exponential backoff and jitter, never in a tight loop. IB's own system messages decide what
the link is worth:

* 1100 (IB lost its servers): *disconnected*; the broker refuses new orders (fail closed) and the
  health check is red, although the socket is up;
* 1101 (restored, data lost): connected again, every subscription is renewed (``generation`` moves);
* 1102 (restored, data kept): connected again, nothing to renew;
* 2103 / 2105 (a market-data / historical farm broken): the feed is stale until 2104 / 2106.

Each (re)connection moves ``generation``: the feed resubscribes and the broker reconciles whenever
it changed. Everything runs on the gateway's thread: ``wait`` runs the client's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from trading.adapters.ibkr import api
from trading.adapters.ibkr.config import IbConfig
from trading.adapters.ibkr.pacing import MESSAGES_PER_S

log = logging.getLogger(__name__)
CLIENT_ID_IN_USE = 326
LOST, RESTORED_DATA_LOST, RESTORED = 1100, 1101, 1102
FARM_BROKEN = {2103: "market data", 2105: "historical data"}
FARM_OK = {2104: "market data", 2106: "historical data"}


@dataclass
class SystemMessage:
    at: float
    code: int
    text: str


@dataclass
class LinkState:
    connected: bool = False  # the API socket is up and IB is connected to its servers (no 1100)
    farms_broken: set[str] = field(default_factory=set)
    connected_since: float | None = None
    last_connected: float | None = None  # wall time the link was last known good
    last_error: str = ""


def thread_loop() -> asyncio.AbstractEventLoop:
    """The event loop the client runs on in this thread, made when there is none or it was closed
    (the gateway's thread has none of its own; a closed one is left behind by other asyncio users)."""
    policy = asyncio.get_event_loop_policy()
    try:
        loop = policy.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        policy.set_event_loop(loop)
    return loop


class IbSession:
    """``ensure()`` (re)connects when due; ``wait(s)`` processes IB's messages for up to ``s`` seconds."""

    def __init__(self, config: IbConfig, *, library: str | None = None, wall: Callable[[], float] = time.time,
                 clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self.config = config
        self.lib = api.lib(library)
        thread_loop()
        self.ib = self.lib.IB()
        self.ib.client.MaxRequests = MESSAGES_PER_S  # IB's limit; the client queues anything beyond it
        self.ib.RaiseRequestErrors = True
        self.client_id = config.client_id
        self.state = LinkState()
        self.generation = 0
        self.messages: deque[SystemMessage] = deque(maxlen=50)
        self.error_listeners: list[Callable[[int, int, str], None]] = []
        self._wall, self._clock = wall, clock
        self._rng = rng or random.Random()
        self._next_attempt = 0.0
        self._failures = 0
        self._id_in_use = False
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected

    # -- connecting -----------------------------------------------------------------------------------
    @property
    def socket_up(self) -> bool:
        return self.ib.isConnected()

    def ensure(self) -> bool:
        """True when connected; otherwise one connection attempt if the backoff allows it."""
        if self.socket_up:
            return self.state.connected
        if self._clock() < self._next_attempt:
            return False
        return self.connect()

    def connect(self) -> bool:
        """One attempt (client ids rotated past any IB says are in use); schedules the next on failure."""
        config = self.config
        thread_loop()
        for _ in range(config.client_id_attempts):
            self._id_in_use = False
            try:
                self.ib.connect(config.host, config.port, clientId=self.client_id, timeout=config.timeout_s,
                                account=config.account)
            except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
                self._safe_disconnect()
                if self._id_in_use:
                    log.error("IB says client id %d is in use (error 326); trying %d", self.client_id,
                              self.client_id + 1)
                    self.client_id += 1
                    continue
                return self._failed(f"{type(exc).__name__}: {exc}")
            if self._id_in_use:
                self._safe_disconnect()
                self.client_id += 1
                continue
            if config.account:
                try:  # the account must be one this IB login manages (a typo never trades another)
                    config.check_broker_account(self.ib.managedAccounts())
                except Exception:
                    self._safe_disconnect()
                    raise
            self._connected()
            return True
        return self._failed(f"client ids {config.client_id}..{self.client_id - 1} are all in use")

    def _failed(self, reason: str) -> bool:
        self._failures += 1
        delay = min(self.config.backoff_max_s, self.config.backoff_initial_s * 2 ** (self._failures - 1))
        delay *= 1 + 0.25 * self._rng.random()
        self._next_attempt = self._clock() + delay
        self.state.connected = False
        self.state.last_error = reason
        log.warning("IB connection to %s:%d failed (%s); next attempt in %.1f s", self.config.host,
                    self.config.port, reason, delay)
        return False

    def _connected(self) -> None:
        self._failures = 0
        self.generation += 1
        now = self._wall()
        self.state = LinkState(connected=True, connected_since=now, last_connected=now)
        log.info("connected to IB at %s:%d as client %d (server version %s, account %s)", self.config.host,
                 self.config.port, self.client_id, self.ib.client.serverVersion(), self.config.masked_account)

    def _safe_disconnect(self) -> None:
        try:
            self.ib.disconnect()
        except Exception:  # noqa: BLE001 - already closed
            log.debug("disconnect after a failed connect", exc_info=True)

    def disconnect(self) -> None:
        self.ib.disconnectedEvent -= self._on_disconnected
        self._safe_disconnect()
        self.state.connected = False

    # -- IB's messages --------------------------------------------------------------------------------
    def _on_disconnected(self) -> None:
        if self.state.connected:
            self.state.last_connected = self._wall()
            log.error("IB connection lost; new orders refused until it is back")
        self.state.connected = False
        self.state.last_error = "socket closed"
        self._next_attempt = min(self._next_attempt, self._clock() + self.config.backoff_initial_s)

    def _on_error(self, req_id: int, code: int, text: str, *_contract: object) -> None:
        if code == CLIENT_ID_IN_USE:
            self._id_in_use = True
        if req_id == -1 or code in (LOST, RESTORED_DATA_LOST, RESTORED) or code in FARM_BROKEN or code in FARM_OK:
            self.messages.append(SystemMessage(self._wall(), code, text))
        if code == LOST:
            self.state.last_connected = self._wall()
            self.state.connected = False
            self.state.last_error = f"1100 {text}"
            log.error("IB 1100: connectivity between IB and the gateway lost; no new orders (fail closed)")
        elif code == RESTORED_DATA_LOST:
            self.state.connected = True
            self.state.last_connected = self._wall()
            self.generation += 1
            log.warning("IB 1101: connectivity restored, data lost; resubscribing and reconciling")
        elif code == RESTORED:
            self.state.connected = True
            self.state.last_connected = self._wall()
            log.info("IB 1102: connectivity restored, data maintained")
        elif code in FARM_BROKEN:
            self.state.farms_broken.add(FARM_BROKEN[code])
            log.warning("IB %d: %s farm connection broken; the feed is stale until it is back", code,
                        FARM_BROKEN[code])
        elif code in FARM_OK:
            self.state.farms_broken.discard(FARM_OK[code])
        for listener in self.error_listeners:
            listener(req_id, code, text)

    # -- running --------------------------------------------------------------------------------------
    def wait(self, seconds: float) -> None:
        """Process IB's messages for ``seconds`` (a plain sleep while the socket is down)."""
        if not self.socket_up:
            time.sleep(seconds)
            return
        try:
            self.ib.sleep(seconds)
        except ConnectionError as exc:  # the socket closed meanwhile; _on_disconnected has the rest
            log.debug("IB link dropped while waiting: %s", exc)

    @property
    def market_data_ok(self) -> bool:
        return self.state.connected and "market data" not in self.state.farms_broken

    def status(self) -> dict:
        state = self.state
        return {"connected": state.connected, "socket": self.socket_up, "client_id": self.client_id,
                "farms_broken": sorted(state.farms_broken), "since": state.connected_since,
                "last_connected": state.last_connected, "error": state.last_error,
                "api": self.lib.__name__, "account": self.config.masked_account, "mode": self.config.mode}
