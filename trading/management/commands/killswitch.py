"""`manage.py killswitch halt|reduce|resume|status [--reason TEXT]` (DESIGN §5)."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from trading import selectors, services
from trading.views import KILL_ACTIONS


class Command(BaseCommand):
    help = "Halt, reduce, resume or show the trading state. The shell user acts as a system actor."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["halt", "reduce", "resume", "status"])
        parser.add_argument("--reason", default="")

    def handle(self, *args, action: str, reason: str, **options) -> None:
        if action == "status":
            row = selectors.trading_state()
            self.stdout.write(f"{row.state} — {row.reason} ({row.changed_by}, {row.changed_at})")
            return
        actor = services.Actor(name=f"cli:{getpass.getuser()}", is_system=True)
        try:
            row = services.set_trading_state(to=KILL_ACTIONS[action], actor=actor,
                                             reason=reason or f"{action} from the command line")
        except (ValueError, services.PermissionDenied) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{row.state} — {row.reason}")
