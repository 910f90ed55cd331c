"""Writes. Keyword-only arguments, one transaction each, side effects after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mia_site.redis import redis_client
from trading import roles
from trading.engine.bars import ClosedBar
from trading.live import order_stream
from trading.live.commands import Action
from trading.models import AuditLog, Bar, OrderCommand, QuarantinedTick, TradingState
from trading.push import push

log = logging.getLogger(__name__)
State = TradingState.State
STATE_CACHE_KEY = "mia:trading_state"


class PermissionDenied(Exception):
    """The actor's role does not allow this change."""


@dataclass(frozen=True)
class Actor:
    """Who asked for a change: a logged-in user, or a named system actor (CLI, risk monitor)."""

    name: str
    user: Any = None
    is_system: bool = False

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls(name=user.get_username(), user=user)


def can_set_state(actor: Actor, to: str, current: str | None = None) -> bool:
    """Operators may halt or reduce; leaving a halt (to anything but HALTED) needs a risk admin."""
    if actor.is_system:
        return True
    lifting = to == State.ACTIVE or (current == State.HALTED and to != State.HALTED)
    return roles.has_role(actor.user, roles.RISK_ADMIN if lifting else roles.OPERATOR)


@transaction.atomic
def set_trading_state(*, to: str, actor: Actor, reason: str) -> TradingState:
    """Latch a new trading state, audit it, then cache and broadcast it once committed."""
    if to not in State.values:
        raise ValueError(f"unknown trading state {to!r}")
    if not reason.strip():
        raise ValueError("a reason is required")
    row, _ = TradingState.objects.select_for_update().get_or_create(pk=TradingState.SINGLETON_ID)
    if not can_set_state(actor, to, row.state):
        raise PermissionDenied(f"{actor.name} may not set the trading state from {row.state} to {to}")
    before = {"state": row.state, "reason": row.reason, "changed_by": row.changed_by}
    if row.state == to:
        # Already there: the first reason and actor stay (they say why trading stopped); the new one
        # is added to the audit trail.
        action = f"trading_state.{to.lower()}.again"
    else:
        action = f"trading_state.{to.lower()}"
        row.state, row.reason, row.changed_by = to, reason.strip()[:500], actor.name
        row.save()
    AuditLog.objects.create(user=actor.user, actor=actor.name, action=action, reason=reason.strip()[:500],
                            before=before, after={"state": row.state, "reason": row.reason,
                                                  "changed_by": row.changed_by})
    payload = state_message(row)
    transaction.on_commit(lambda: _publish_state(payload))
    if to in (State.HALTED, State.REDUCING):
        # Cancel working entries; the open position keeps its stop and target (Flatten closes it).
        order_stream.queue(action=Action.CANCEL_ENTRIES, reason=reason)
    return row


@transaction.atomic
def flatten_all(*, actor: Actor, reason: str) -> TradingState:
    """Halt, cancel every working order and close the position at market."""
    row = set_trading_state(to=State.HALTED, actor=actor, reason=reason)
    AuditLog.objects.create(user=actor.user, actor=actor.name, action="flatten", reason=reason[:500])
    order_stream.queue(action=Action.FLATTEN, reason=reason)
    return row


KILL_ACTIONS = {"halt": State.HALTED, "reduce": State.REDUCING, "resume": State.ACTIVE, "flatten": State.HALTED}


def kill_switch(*, action: str, actor: Actor, reason: str) -> TradingState:
    """The kill switch's four buttons: halt, reduce only, flatten all (halt + close), resume."""
    if action not in KILL_ACTIONS:
        raise ValueError(f"unknown kill-switch action {action!r}")
    if action == "flatten":
        return flatten_all(actor=actor, reason=reason)
    return set_trading_state(to=KILL_ACTIONS[action], actor=actor, reason=reason)


def state_message(row: TradingState) -> dict[str, Any]:
    """The state as the dashboard shows it, with the commands the gateway has not confirmed yet."""
    now = timezone.now()
    pending = [{"id": c.pk, "action": c.action, "age_s": round((now - c.created_at).total_seconds(), 1)}
               for c in OrderCommand.objects.filter(acked_at__isnull=True).order_by("created_at")[:10]]
    return {"state": row.state, "reason": row.reason, "changed_by": row.changed_by,
            "changed_at": row.changed_at.isoformat() if row.changed_at else None, "pending": pending}


def _publish_state(payload: dict[str, Any]) -> None:
    client = redis_client()
    if client is not None:
        try:
            client.set(STATE_CACHE_KEY, payload["state"])
        except Exception:  # noqa: BLE001 - the database holds the truth; the cache is a shortcut
            log.warning("could not cache the trading state in Redis", exc_info=True)
    push("state", payload)


def ensure_trading_state() -> TradingState:
    """Create the state row once (ACTIVE) on a fresh install; never overwrite a latched state."""
    row, created = TradingState.objects.get_or_create(
        pk=TradingState.SINGLETON_ID, defaults={"state": State.ACTIVE, "reason": "initial setup",
                                                "changed_by": "setup"})
    if created:
        AuditLog.objects.create(actor="setup", action="trading_state.init", after={"state": row.state})
    return row


def record_bar(*, bar: ClosedBar, source: str) -> Bar | None:
    """Store a closed bar; the caller enqueues its trading cycle after commit.

    A bar already stored for the same (symbol, ts) is left alone and None is returned: a gateway
    restart replaying the last minute must not trade the same bar twice.
    """
    try:
        with transaction.atomic():
            return Bar.objects.create(
                symbol=bar.symbol, ts=bar.ts, open=bar.open, high=bar.high, low=bar.low, close=bar.close,
                volume=bar.volume, buy_volume=bar.buy_volume, sell_volume=bar.sell_volume, bid=bar.bid,
                ask=bar.ask, tick_count=bar.tick_count, interval_s=bar.interval_s, source=source)
    except IntegrityError:
        log.info("bar %s %s already stored; not traded again", bar.symbol, bar.ts)
        return None


@transaction.atomic
def quarantine_ticks(*, rows: Iterable[QuarantinedTick]) -> int:
    created = QuarantinedTick.objects.bulk_create(list(rows), batch_size=500)
    return len(created)
