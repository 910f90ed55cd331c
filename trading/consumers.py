"""The dashboard websocket: authenticated users only (origin checked by the ASGI router).

Each DESIGN §6 message type has its own handler, which relays the typed message as JSON.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from trading.push import DASHBOARD_GROUP

UNAUTHENTICATED = 4401


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The dashboard only listens; commands go through POST endpoints with CSRF checks."""

    async def _relay(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])

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
