"""Push typed messages to every dashboard client over the Channels layer (DESIGN §6).

A failed push is logged and dropped: the dashboard is a view of the database, never the place
where a trading decision lives, so a broken websocket must not stop the trading path.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"
MessageType = Literal["tick", "bar", "signal", "order", "fill", "pnl", "state", "bias", "health", "alert"]
MESSAGE_TYPES: tuple[str, ...] = ("tick", "bar", "signal", "order", "fill", "pnl", "state", "bias", "health",
                                  "alert")


class DashboardMessage(TypedDict):
    type: MessageType
    data: dict[str, Any]


def enabled() -> bool:
    """Whether anyone can hear pushes (a replay runs without a channel layer): skip building payloads."""
    return get_channel_layer() is not None


def push(kind: MessageType, data: dict[str, Any]) -> None:
    """Send `{"type": kind, "data": data}` to the dashboard group (sync callers)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message: DashboardMessage = {"type": kind, "data": data}
    try:
        async_to_sync(layer.group_send)(DASHBOARD_GROUP, {"type": f"push.{kind}", "message": message})
    except Exception as exc:  # noqa: BLE001 - see module docstring
        log.warning("dashboard push of %s failed: %s", kind, exc)
