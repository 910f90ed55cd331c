"""Order commands from the workers (and the kill switch) to the gateway (DESIGN §2): an outbox and a doorbell.

Every command is first an ``OrderCommand`` row, committed with whatever decided it (``queue``), then
published on a Redis stream after commit (``publish``), typed and versioned (``commands``). The
gateway reads the stream with a consumer group and acknowledges a command only after its result is
in the database (``CommandConsumer``), in the same transaction that marks the row acknowledged, so
a command is carried out once however often it is delivered.

Redis is the doorbell, the database is the truth: the gateway's sweep (``CommandConsumer.sweep``)
carries out any row still unacknowledged a few seconds after it was committed, straight from the
database, so a command is never lost to a worker killed before it published, a Redis outage or a
stream flushed away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import redis
from django.db import transaction
from django.utils import timezone

from mia_site.redis import redis_client
from trading.adapters.base import BrokerUnavailable
from trading.live.commands import Action, Command, UnreadableCommand, decode, encode
from trading.models import OrderCommand, OrderIntent
from trading.push import push

log = logging.getLogger(__name__)
STREAM = "mia:orders"
GROUP = "gateway"
MAXLEN = 100_000


def queue(*, action: Action | str, client_order_id: str = "", price: float | None = None,
          reason: str = "") -> OrderCommand:
    """Commit a command (inside the caller's transaction) and publish it once that commits."""
    command = Command(action=Action(action), client_order_id=client_order_id, price=price, reason=reason[:200])
    row = OrderCommand.objects.create(action=str(command.action), client_order_id=client_order_id, price=price,
                                      reason=command.reason)
    transaction.on_commit(lambda: publish([row.pk]))
    return row


def as_command(row: OrderCommand) -> Command:
    return Command(action=Action(row.action), client_order_id=row.client_order_id, price=row.price,
                   reason=row.reason, command_id=row.pk)


def publish(ids: list[int], client: redis.Redis | None = None) -> int:
    """Ring the gateway for these committed commands; a Redis failure is logged (the sweep has them)."""
    client = client or redis_client()
    if client is None:
        return 0
    sent = 0
    for row in OrderCommand.objects.filter(pk__in=ids, acked_at__isnull=True).order_by("pk"):
        try:
            client.xadd(STREAM, encode(as_command(row)), maxlen=MAXLEN, approximate=True)
        except redis.RedisError as exc:
            log.warning("order command %s committed but not published (%s); the gateway's sweep will carry it out",
                        row.pk, exc)
            return sent
        now = timezone.now()
        OrderCommand.objects.filter(pk=row.pk).update(published_at=now)
        if row.action == Action.SUBMIT:
            OrderIntent.objects.filter(client_order_id=row.client_order_id, sent_at__isnull=True).update(sent_at=now)
        sent += 1
    return sent


def ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class CommandConsumer:
    """The gateway's side: stream entries (pending ones first, then new ones) and the database sweep.

    ``handler(command) -> outcome`` carries out one command inside a transaction; a command with an
    outbox id is claimed first (row lock) and skipped when already acknowledged. A command that
    fails ``MAX_ATTEMPTS`` times, or cannot be read at all, is set aside (acknowledged with its error,
    ``on_poison``) so it never blocks a later one: a Flatten always gets through.
    """

    MAX_ATTEMPTS = 5

    def __init__(self, client: redis.Redis | None, handler: Callable[[Command], str | None], *,
                 consumer: str = "gateway-1", on_poison: Callable[[Command | dict, str], None] | None = None,
                 on_settled: Callable[[Command], None] | None = None) -> None:
        self.client = client
        self.handler = handler
        self.consumer = consumer
        self.on_poison = on_poison
        self.on_settled = on_settled  # after commit, for every command but submits (the dashboard's queue)
        if client is not None:
            ensure_group(client)
        self._backlog = True
        self._failures: dict[str, int] = {}
        self._waiting: set[str] = set()  # commands waiting for the venue (logged once each)

    # -- the stream -----------------------------------------------------------------------------------
    def poll(self, *, block_ms: int | None = None, count: int = 50) -> int:
        """Carry out up to ``count`` stream commands; returns how many were carried out."""
        if self.client is None:
            return 0
        # Pending (failed or unacknowledged) commands are retried, but new ones are always read too:
        # one command that keeps failing must never block a later Flatten.
        entries = self._read("0", count, None) if self._backlog else []
        self._backlog = bool(entries)
        entries += self._read(">", count, block_ms)
        handled = 0
        for entry_id, fields in entries:
            try:
                command = decode(fields)
            except UnreadableCommand as exc:
                log.error("unreadable order command %s set aside: %s", fields, exc)
                self.client.xack(STREAM, GROUP, entry_id)
                self._poison(fields, str(exc))
                continue
            if self._attempt(entry_id, command):
                self.client.xack(STREAM, GROUP, entry_id)
                handled += 1
        return handled

    def _read(self, start: str, count: int, block_ms: int | None) -> list:
        try:
            replies = self.client.xreadgroup(GROUP, self.consumer, {STREAM: start}, count=count, block=block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the stream or the group (a flush, a restart without its data): rebuild both.
            # Nothing is lost: every command is an outbox row, and the sweep carries out what the
            # old stream held.
            log.error("order stream group missing (%s); recreating it", exc)
            ensure_group(self.client)
            push("alert", {"level": "warning", "message": "Redis lost the order stream (flushed or restarted "
                                                          "without its data); recreated, commands come from the "
                                                          "database outbox meanwhile"})
            self._backlog = True
            return []
        return replies[0][1] if replies else []

    # -- the database ---------------------------------------------------------------------------------
    def sweep(self, *, older_than_s: float = 3.0) -> int:
        """Carry out, from the database, every command still unacknowledged ``older_than_s`` after commit."""
        cutoff = timezone.now() - timedelta(seconds=older_than_s)
        rows = list(OrderCommand.objects.filter(acked_at__isnull=True, created_at__lte=cutoff).order_by("pk"))
        if rows:
            log.warning("outbox: %d order command(s) not acknowledged after %.0f s; carrying them out from the "
                        "database", len(rows), older_than_s)
        done = 0
        for row in rows:
            if self._attempt(f"db-{row.pk}", as_command(row)):
                done += 1
        return done

    # -- both -----------------------------------------------------------------------------------------
    def _attempt(self, key: str, command: Command) -> bool:
        """True when the command is settled (carried out, already done, or set aside after failing)."""
        try:
            with transaction.atomic():
                self._run(command)
        except BrokerUnavailable as exc:
            # Not the command's fault: it stays pending, uncounted, until the venue is back.
            self._backlog = True
            if key not in self._waiting:
                self._waiting.add(key)
                log.warning("order command %s waits: %s", command, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - left pending and retried, up to MAX_ATTEMPTS
            self._backlog = True
            attempts = self._failures.get(key, 0) + 1
            self._failures[key] = attempts
            log.exception("order command %s failed (attempt %d)", command, attempts)
            if attempts < self.MAX_ATTEMPTS:
                return False
            self._failures.pop(key, None)
            self._settle(command, f"failed: {type(exc).__name__}: {exc}")
            self._poison(command, f"{type(exc).__name__}: {exc}")
            return True
        self._failures.pop(key, None)
        self._waiting.discard(key)
        return True

    def _run(self, command: Command) -> None:
        if command.command_id is None:  # a version-1 command: idempotent by order id at the desk
            self.handler(command)
            return
        row = OrderCommand.objects.select_for_update().filter(pk=command.command_id).first()
        if row is not None and row.acked_at is not None:
            return  # delivered again (stream redelivery, sweep): already carried out
        outcome = self.handler(command) or "done"
        OrderCommand.objects.filter(pk=command.command_id).update(acked_at=timezone.now(), outcome=outcome[:200])
        if self.on_settled is not None and command.action != Action.SUBMIT:
            transaction.on_commit(lambda: self.on_settled(command))

    def _settle(self, command: Command, outcome: str) -> None:
        if command.command_id is not None:
            OrderCommand.objects.filter(pk=command.command_id, acked_at__isnull=True).update(
                acked_at=timezone.now(), outcome=outcome[:200])

    def _poison(self, command: Command | dict, error: str) -> None:
        if self.on_poison is not None:
            self.on_poison(command, error)
