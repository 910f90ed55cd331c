"""The order-command protocol between the workers and the gateway: one typed, versioned message.

A command is what the gateway is asked to do at the broker: submit an order (by ``client_order_id``),
cancel one, move one's price, cancel all or only the entries, flatten. On the Redis stream it travels
as flat string fields (``encode``); the gateway reads it back with ``decode``, which never guesses:

* version 2 (this one) carries the price in its own field and the outbox row's id (``command_id``),
  which makes a redelivered or republished command a no-op at the gateway;
* version 1 (before this protocol: no ``v`` field, a ``modify`` with its price in ``reason``) is still
  understood where it is unambiguous, so commands already in the stream when the new code starts
  are carried out;
* anything else (an unknown action or version, a modify without a usable price, a submit without an
  order id) raises ``UnreadableCommand`` with the reason, and is set aside, never misread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

VERSION = 2


class Action(StrEnum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    MODIFY = "modify"
    CANCEL_ALL = "cancel_all"
    CANCEL_ENTRIES = "cancel_entries"
    FLATTEN = "flatten"


NEEDS_ORDER = frozenset({Action.SUBMIT, Action.CANCEL, Action.MODIFY})


class UnreadableCommand(ValueError):
    """A stream entry this gateway cannot carry out as written; the message says why."""


@dataclass(frozen=True)
class Command:
    action: Action
    client_order_id: str = ""
    price: float | None = None
    reason: str = ""
    command_id: int | None = None  # the OrderCommand outbox row; None for version-1 commands

    def __post_init__(self) -> None:
        if self.action in NEEDS_ORDER and not self.client_order_id:
            raise UnreadableCommand(f"{self.action} without a client_order_id")
        if self.action == Action.MODIFY and not (self.price is not None and math.isfinite(self.price)
                                                 and self.price > 0):
            raise UnreadableCommand(f"modify {self.client_order_id} without a positive price ({self.price!r})")


def encode(command: Command) -> dict[str, str]:
    """The stream fields of ``command`` (all strings, as Redis stores them)."""
    return {"v": str(VERSION), "action": str(command.action), "client_order_id": command.client_order_id,
            "price": "" if command.price is None else repr(float(command.price)), "reason": command.reason[:200],
            "command_id": "" if command.command_id is None else str(command.command_id)}


def decode(fields: dict[str, str]) -> Command:
    """The command in a stream entry, or ``UnreadableCommand`` (see module docstring)."""
    version = fields.get("v")
    action = _action(fields.get("action"))
    coid, reason = fields.get("client_order_id", "") or "", fields.get("reason", "") or ""
    if version is None:
        price = None
        if action == Action.MODIFY:
            price = _price(reason, "version-1 modify carries its price in reason")
            reason = ""
        return Command(action=action, client_order_id=coid, price=price, reason=reason)
    if version != str(VERSION):
        raise UnreadableCommand(f"protocol version {version!r}; this gateway reads 1 and {VERSION}")
    raw_price = fields.get("price", "")
    price = _price(raw_price, "price") if raw_price else None
    raw_id = fields.get("command_id", "")
    try:
        command_id = int(raw_id) if raw_id else None
    except ValueError as exc:
        raise UnreadableCommand(f"command_id {raw_id!r} is not a number") from exc
    return Command(action=action, client_order_id=coid, price=price, reason=reason, command_id=command_id)


def _action(raw: str | None) -> Action:
    try:
        return Action(raw)
    except ValueError as exc:
        raise UnreadableCommand(f"unknown action {raw!r}") from exc


def _price(raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise UnreadableCommand(f"{what}: {raw!r} is not a price") from exc
    if not math.isfinite(value) or value <= 0:
        raise UnreadableCommand(f"{what}: {raw!r} is not a positive price")
    return value
