"""Order commands from the workers to the gateway over a Redis stream (DESIGN §2).

Workers commit an `OrderIntent` first, then publish `{"action", "client_order_id"}` after commit.
The gateway reads with a consumer group and acknowledges a command only after its result is in the
database, so a gateway killed mid-command gets it again. Publishing can be lost (a worker killed
between commit and XADD); the gateway's outbox sweep republishes intents never marked sent. Both
paths are safe because the handler is idempotent on `client_order_id`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import redis
from django.db import transaction
from django.utils import timezone

from trading.models import OrderIntent

log = logging.getLogger(__name__)
STREAM = "mia:orders"
GROUP = "gateway"
SUBMIT, CANCEL, FLATTEN, CANCEL_ALL = "submit", "cancel", "flatten", "cancel_all"


def publish(client: redis.Redis, *, action: str, client_order_id: str = "", reason: str = "") -> str:
    return client.xadd(STREAM, {"action": action, "client_order_id": client_order_id, "reason": reason},
                       maxlen=100_000, approximate=True)


def publish_intents(client: redis.Redis, intent_ids: list[int]) -> int:
    """Send submit commands for these intents and mark them sent. Called after commit."""
    sent = 0
    for intent in OrderIntent.objects.filter(pk__in=intent_ids, sent_at__isnull=True).order_by("pk"):
        publish(client, action=SUBMIT, client_order_id=intent.client_order_id)
        OrderIntent.objects.filter(pk=intent.pk).update(sent_at=timezone.now())
        sent += 1
    return sent


def sweep_outbox(client: redis.Redis, *, older_than_s: float = 3.0) -> int:
    """Republish intents committed but never sent (their sender died before XADD)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    stale = list(OrderIntent.objects.filter(sent_at__isnull=True, created_at__lt=cutoff).values_list("pk", flat=True))
    if stale:
        log.warning("outbox: republishing %d unsent order intent(s)", len(stale))
    return publish_intents(client, stale)


def ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class CommandConsumer:
    """Reads commands for this gateway; pending (unacknowledged) ones first, then new ones."""

    MAX_ATTEMPTS = 5

    def __init__(self, client: redis.Redis, handler: Callable[[dict], None], *, consumer: str = "gateway-1",
                 on_poison: Callable[[dict, str], None] | None = None) -> None:
        self.client = client
        self.handler = handler
        self.consumer = consumer
        self.on_poison = on_poison
        ensure_group(client)
        self._backlog = True
        self._failures: dict[str, int] = {}

    def poll(self, *, block_ms: int | None = None, count: int = 50) -> int:
        """Handle up to `count` commands; returns how many were handled."""
        # Pending (failed or unacknowledged) commands are retried, but new ones are always read too:
        # one command that keeps failing must never block a later Flatten.
        entries = self._read("0", count, None) if self._backlog else []
        self._backlog = bool(entries)
        entries += self._read(">", count, block_ms)
        handled = 0
        for entry_id, fields in entries:
            try:
                with transaction.atomic():
                    self.handler(fields)
            except Exception as exc:  # noqa: BLE001 - left pending and retried, up to MAX_ATTEMPTS
                self._backlog = True
                attempts = self._failures.get(entry_id, 0) + 1
                self._failures[entry_id] = attempts
                log.exception("order command %s failed (attempt %d)", fields, attempts)
                if attempts < self.MAX_ATTEMPTS:
                    continue
                self.client.xack(STREAM, GROUP, entry_id)  # dead letter: reported, never retried again
                self._failures.pop(entry_id, None)
                if self.on_poison is not None:
                    self.on_poison(fields, f"{type(exc).__name__}: {exc}")
                continue
            self.client.xack(STREAM, GROUP, entry_id)
            self._failures.pop(entry_id, None)
            handled += 1
        return handled

    def _read(self, start: str, count: int, block_ms: int | None) -> list:
        replies = self.client.xreadgroup(GROUP, self.consumer, {STREAM: start}, count=count, block=block_ms)
        return replies[0][1] if replies else []
