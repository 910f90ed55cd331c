"""`manage.py killswitch halt|reduce|flatten|resume|status [--reason TEXT]` (DESIGN §5, plus flatten)."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from trading import selectors, services


class Command(BaseCommand):
    help = "Halt, reduce, resume or show the trading state. The shell user acts as a system actor."
    # The operator's emergency tool must start fast: the system checks would load every URL and view.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["halt", "reduce", "flatten", "resume", "status"])
        parser.add_argument("--reason", default="")

    def handle(self, *args, action: str, reason: str, **options) -> None:
        if action == "status":
            row = selectors.trading_state()
            self.stdout.write(f"{row.state} — {row.reason} ({row.changed_by}, {row.changed_at})")
            return
        actor = services.Actor(name=f"cli:{getpass.getuser()}", is_system=True)
        try:
            row = services.kill_switch(action=action, actor=actor, reason=reason or f"{action} from the command line")
        except (ValueError, services.PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{row.state} — {row.reason}")
