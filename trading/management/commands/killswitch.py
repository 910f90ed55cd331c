"""`manage.py killswitch halt|reduce|flatten|resume|status [--reason TEXT] [--wait S]` (DESIGN §5, plus flatten).

The new state is latched in the database at once; the orders it implies (cancel the entries, close the
position) are commands in the outbox, carried out by the gateway. The command waits up to ``--wait``
seconds for the gateway to confirm them and says plainly when it has not: they stay queued and are
carried out as soon as the gateway reads them (from Redis, or from the database when Redis is down).
"""

from __future__ import annotations

import getpass
import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max

from trading import selectors, services
from trading.models import OrderCommand


class Command(BaseCommand):
    help = "Halt, reduce, resume or show the trading state. The shell user acts as a system actor."
    # The operator's emergency tool must start fast: the system checks would load every URL and view.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["halt", "reduce", "flatten", "resume", "status"])
        parser.add_argument("--reason", default="")
        parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the gateway (default 5)")

    def handle(self, *args, action: str, reason: str, wait: float, **options) -> None:
        if action == "status":
            row = selectors.trading_state()
            self.stdout.write(f"{row.state} — {row.reason} ({row.changed_by}, {row.changed_at})")
            for command in selectors.pending_commands():
                self.stdout.write(f"  pending at the gateway: {command.action} (queued {command.created_at:%H:%M:%S})")
            return
        actor = services.Actor(name=f"cli:{getpass.getuser()}", is_system=True)
        before = OrderCommand.objects.aggregate(last=Max("id"))["last"] or 0
        try:
            row = services.kill_switch(action=action, actor=actor, reason=reason or f"{action} from the command line")
        except (ValueError, services.PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{row.state} — {row.reason}")
        queued = list(OrderCommand.objects.filter(pk__gt=before).order_by("pk"))
        deadline = time.monotonic() + max(0.0, wait)
        while queued and time.monotonic() < deadline and OrderCommand.objects.filter(
                pk__in=[c.pk for c in queued], acked_at__isnull=True).exists():
            time.sleep(0.1)
        for command in queued:
            command.refresh_from_db()
            if command.acked_at is not None:
                self.stdout.write(f"{command.action} carried out by the gateway: {command.outcome}")
            else:
                self.stdout.write(f"{command.action} queued (command {command.pk}): not confirmed by the gateway "
                                  f"after {wait:g} s; it stays queued and is carried out when the gateway reads it")
