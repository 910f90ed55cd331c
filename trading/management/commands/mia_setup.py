"""Idempotent first-run setup: roles, the trading-state row, beat schedules and an account.

Run by `make run` and `make test` after `migrate`; safe to run any number of times.
"""

from __future__ import annotations

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from trading import roles, services

# (name, task, queue, every seconds | crontab dict). Seeded with update_or_create so an operator's
# enable/disable choice in the admin survives; only the schedule definition is refreshed.
SCHEDULES: list[tuple[str, str, str, int | dict, dict]] = [
    ("Health check (every 60 s)", "mia.health_check", "default", 60, {}),
    ("Options snapshot SPX (every 5 min)", "options.snapshot", "options", 300, {"underlying": "SPX"}),
    ("Options snapshot NDX (every 5 min)", "options.snapshot", "options", 300, {"underlying": "NDX"}),
    # 16:15 Chicago is inside the daily maintenance break in winter and summer time alike.
    ("Retrain ML filter (daily)", "mlfilter.retrain", "ml",
     {"minute": "15", "hour": "16", "timezone": "America/Chicago"}, {}),
    ("ML drift check (hourly)", "mlfilter.drift_check", "ml", 3600, {}),
]


class Command(BaseCommand):
    help = "Create roles, the trading state, default schedules and the admin account (idempotent)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            for role in roles.ROLES:
                group, _ = Group.objects.get_or_create(name=role)
                group.permissions.set(role_permissions(role))
            services.ensure_trading_state()
            for name, task, queue, every, kwargs in SCHEDULES:
                seed_schedule(name=name, task=task, queue=queue, every=every, kwargs=kwargs)
        self._ensure_admin()

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        username = os.environ.get("MIA_ADMIN_USER", "").strip()
        password = os.environ.get("MIA_ADMIN_PASSWORD", "")
        risk_admin = Group.objects.get(name=roles.RISK_ADMIN)
        url = "http://127.0.0.1:" + os.environ.get("MIA_PORT", "8000")
        if username:
            if not password:
                raise SystemExit("MIA_ADMIN_USER is set but MIA_ADMIN_PASSWORD is empty")
            user, _ = user_model.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = True
            user.save()
            user.groups.add(risk_admin)
            self.stdout.write(f"MIA is at {url} — log in as {username} (password from MIA_ADMIN_PASSWORD).")
            return
        secret_file = settings.VAR_DIR / "admin-password"
        user = user_model.objects.filter(username="admin").first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = user_model.objects.create_user("admin", password=password, is_staff=True)
            user.groups.add(risk_admin)
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            self.stdout.write(self.style.WARNING(f"Created user 'admin' with password: {password}"))
            self.stdout.write(f"(kept in {secret_file}, mode 0600; shown only this once)")
        self.stdout.write(f"MIA is at {url} — log in as admin (password in {secret_file}).")


# API tokens are not in here: a token key is a credential, so only superusers see or manage them.
APPS = ("trading", "options", "mlfilter", "django_celery_beat")
# Model permissions for the admin; the role checks in the admin classes and services still apply on top.
OPERATOR_EDITS = {"change_strategyconfig", "add_newsevent", "change_newsevent", "delete_newsevent"}


def role_permissions(role: str) -> list[Permission]:
    perms = Permission.objects.filter(content_type__app_label__in=APPS)
    if role == roles.RISK_ADMIN:
        return list(perms)
    allowed = [p for p in perms if p.codename.startswith("view_")]
    if role == roles.OPERATOR:
        allowed += [p for p in perms if p.codename in OPERATOR_EDITS]
    return allowed


def seed_schedule(*, name: str, task: str, queue: str, every: int | dict, kwargs: dict | None = None) -> PeriodicTask:
    defaults: dict = {"task": task, "queue": queue, "kwargs": json.dumps(kwargs or {})}
    if isinstance(every, int):
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
        defaults.update(interval=interval, crontab=None)
    else:
        crontab, _ = CrontabSchedule.objects.get_or_create(**every)
        defaults.update(crontab=crontab, interval=None)
    task_row, _ = PeriodicTask.objects.update_or_create(name=name, defaults=defaults)
    return task_row
