"""FilterSets for the `/api/v1/` lists: `?since=&until=` on every list, plus each list's natural filters.

`since` and `until` take an ISO-8601 date or date-time; a naive time is UTC. Both ends are inclusive,
and a bare date for `until` covers that whole day (`until=2025-03-04` keeps 2025-03-04T23:59:59.9Z).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Model, QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field

from mlfilter.models import ModelVersion
from trading.models import DailyStats, Fill, Order, OrderIntent, Position, Side, Signal, Trade

SINCE_HELP = "From this ISO-8601 date or date-time, inclusive (UTC when no offset is given)."
UNTIL_HELP = ("Up to this ISO-8601 date or date-time, inclusive (UTC when no offset is given); "
              "a bare date covers that whole day.")


@dataclass(frozen=True)
class Instant:
    """A parsed bound: the moment, and whether it was given as a bare date."""

    at: datetime
    date_only: bool


def parse_instant(raw: str) -> Instant | None:
    """`2025-03-04`, `2025-03-04T15:00`, `2025-03-04T15:00:00Z`, `...+01:00`; None when unreadable."""
    try:
        day = parse_date(raw)  # a bare date first: parse_datetime would read it as midnight
        if day is not None:
            return Instant(datetime.combine(day, time.min, tzinfo=UTC), date_only=True)
        value = parse_datetime(raw)
    except ValueError:  # well formed but impossible, e.g. 2025-02-30
        return None
    if value is None:
        return None
    return Instant(value if value.tzinfo else value.replace(tzinfo=UTC), date_only=False)


class InstantField(forms.CharField):
    def clean(self, value: Any) -> Instant | None:
        raw = (super().clean(value) or "").strip()
        if not raw:
            return None
        instant = parse_instant(raw)
        if instant is None:
            # The value goes in as a parameter: messages are %-formatted later, so a "%" typed into the
            # query string (``?since=%``) must never reach the format string itself (that was a 500).
            raise forms.ValidationError(
                "Not an ISO-8601 date or date-time: %(value)s (e.g. 2025-03-04 or 2025-03-04T15:00:00Z).",
                params={"value": repr(raw)})
        return instant


class InstantFilter(filters.Filter):
    """One end of a time range, on a DateTimeField or a DateField (compared as the UTC date)."""

    field_class = InstantField
    upper = False

    def filter(self, qs: QuerySet, value: Instant | None) -> QuerySet:
        if value is None:
            return qs
        if qs.model._meta.get_field(self.field_name).get_internal_type() == "DateField":
            day: date = value.at.astimezone(UTC).date()
            return qs.filter(**{f"{self.field_name}__{'lte' if self.upper else 'gte'}": day})
        if not self.upper:
            return qs.filter(**{f"{self.field_name}__gte": value.at})
        if value.date_only:
            return qs.filter(**{f"{self.field_name}__lt": value.at + timedelta(days=1)})
        return qs.filter(**{f"{self.field_name}__lte": value.at})


@extend_schema_field({"type": "string", "description": SINCE_HELP, "example": "2025-03-04"})
class SinceFilter(InstantFilter):
    upper = False


@extend_schema_field({"type": "string", "description": UNTIL_HELP, "example": "2025-03-04T21:00:00Z"})
class UntilFilter(InstantFilter):
    upper = True


def since_until(field_name: str) -> tuple[SinceFilter, UntilFilter]:
    """The `since` and `until` filters on one time field: `since, until = since_until("ts")`."""
    return SinceFilter(field_name=field_name), UntilFilter(field_name=field_name)


def _text(field_name: str, help_text: str) -> filters.CharFilter:
    """A case-insensitive exact match (`?side=long` finds LONG)."""
    return filters.CharFilter(field_name=field_name, lookup_expr="iexact", help_text=help_text)


class TradeFilter(filters.FilterSet):
    since, until = since_until("exit_time")
    side = filters.ChoiceFilter(choices=[("LONG", "Long"), ("SHORT", "Short")], help_text="LONG or SHORT.")
    exit_reason = _text("exit_reason", "Why the trade closed (stop, target, time, reversal, flatten, ...).")
    symbol = _text("symbol", "Contract symbol, e.g. ES.")

    class Meta:
        model = Trade
        fields = ["since", "until", "side", "exit_reason", "symbol"]


class SignalFilter(filters.FilterSet):
    since, until = since_until("ts")
    label = _text("label", "Confluence label, e.g. BUY or STRONG_SELL.")
    regime = _text("regime", "Market regime the engine detected.")
    strategy = _text("strategy", "Strategy that produced the signal.")
    risk_approved = filters.BooleanFilter(help_text="true: the risk manager let it through; false: refused.")
    symbol = _text("symbol", "Contract symbol, e.g. ES.")

    class Meta:
        model = Signal
        fields = ["since", "until", "label", "regime", "strategy", "risk_approved", "symbol"]


class OrderFilter(filters.FilterSet):
    since, until = since_until("created_at")
    state = filters.ChoiceFilter(choices=Order.State.choices, help_text="Order state.")
    role = filters.ChoiceFilter(field_name="intent__role", choices=OrderIntent.Role.choices,
                                help_text="The order's part in its bracket.")
    side = filters.ChoiceFilter(field_name="intent__side", choices=Side.choices, help_text="BUY or SELL.")

    class Meta:
        model = Order
        fields = ["since", "until", "state", "role", "side"]


class FillFilter(filters.FilterSet):
    since, until = since_until("ts")
    side = filters.ChoiceFilter(choices=Side.choices, help_text="BUY or SELL.")
    role = filters.ChoiceFilter(field_name="order__intent__role", choices=OrderIntent.Role.choices,
                                help_text="Role of the order that filled.")

    class Meta:
        model = Fill
        fields = ["since", "until", "side", "role"]


class DailyStatsFilter(filters.FilterSet):
    since, until = since_until("day")

    class Meta:
        model = DailyStats
        fields = ["since", "until"]


class PositionFilter(filters.FilterSet):
    since, until = since_until("updated_at")
    symbol = _text("symbol", "Contract symbol, e.g. ES.")

    class Meta:
        model = Position
        fields = ["since", "until", "symbol"]


def time_fields(model: type[Model]) -> list[str]:
    """A model's date-time columns, `created_at` first when it has one."""
    names = [f.name for f in model._meta.concrete_fields if f.get_internal_type() == "DateTimeField"]
    return sorted(names, key=lambda name: name != "created_at")


class ModelVersionFilter(filters.FilterSet):
    since, until = since_until("created_at")

    class Meta:
        model = ModelVersion
        fields = ["since", "until", "version", "trained_on", "deployed"]
