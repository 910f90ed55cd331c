"""The dashboard websocket: users with a role only (origin, scheme and port checked by the ASGI router).

Each DESIGN §6 message type has its own handler, which relays the typed message as JSON.
High-rate streams (ticks, P&L, health) are coalesced per client, latest wins, so one browser gets
about ten messages a second however fast the market is; events (signals, orders, fills, state,
alerts) are never dropped or delayed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from trading import roles
from trading.push import DASHBOARD_GROUP

UNAUTHENTICATED = 4401
NO_ROLE = 4403
# Minimum seconds between two messages of a coalesced type to one client (tick 4/s, pnl 2/s, health 1/s).
COALESCE_S = {"tick": 0.25, "pnl": 0.5, "health": 1.0}


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        if await database_sync_to_async(roles.role_of)(user) is None:
            await self.close(code=NO_ROLE)  # logged in, but never given a role: no data
            return
        self._last_sent: dict[str, float] = {}
        self._pending: dict[str, dict] = {}
        self._flushers: dict[str, asyncio.TimerHandle] = {}
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for handle in getattr(self, "_flushers", {}).values():
            handle.cancel()
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The dashboard only listens; commands go through POST endpoints with CSRF checks."""

    async def _relay(self, event: dict[str, Any]) -> None:
        message = event["message"]
        interval = COALESCE_S.get(message["type"])
        if interval is None:
            await self.send_json(message)
            return
        kind = message["type"]
        loop = asyncio.get_running_loop()
        wait = self._last_sent.get(kind, -interval) + interval - loop.time()
        if wait <= 0 and kind not in self._flushers:
            self._last_sent[kind] = loop.time()
            await self.send_json(message)
            return
        self._pending[kind] = message  # newer replaces older: the client only needs the latest
        if kind not in self._flushers:
            self._flushers[kind] = loop.call_later(max(wait, 0), lambda: asyncio.ensure_future(self._flush(kind)))

    async def _flush(self, kind: str) -> None:
        self._flushers.pop(kind, None)
        message = self._pending.pop(kind, None)
        if message is not None:
            self._last_sent[kind] = asyncio.get_running_loop().time()
            await self.send_json(message)

    async def push_tick(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_bar(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_signal(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_order(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_fill(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_pnl(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_state(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_bias(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_health(self, event: dict[str, Any]) -> None:
        await self._relay(event)

    async def push_alert(self, event: dict[str, Any]) -> None:
        await self._relay(event)
