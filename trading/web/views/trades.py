"""The trades page: filter, sort, paginate and total closed trades; htmx swaps the table in place.

The query parameters (`since`, `until`, `side`, `exit_reason`) are the ones `/api/v1/trades/`
takes, so the export links carry the page's filters unchanged. `since`/`until` are dates or
ISO-8601 times on the exit time; a bare `until` date includes that whole day (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_GET

from trading.models import Trade

PAGE_SIZE = 50
SIDES = ("LONG", "SHORT")
SORTS = {"exit_time": "exit_time", "pnl": "pnl_usd", "side": "side"}
DEFAULT_SORT = "-exit_time"
FILTER_KEYS = ("since", "until", "side", "exit_reason")


def _moment(text: str, *, end: bool) -> datetime | None:
    """A date or an ISO time as an aware UTC datetime; a bare end date means the next midnight."""
    day = parse_date(text) if _is_date(text) else None
    if day is not None:
        return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
    moment = parse_datetime(text)
    if moment is None:
        raise ValueError(text)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


def _is_date(text: str) -> bool:
    return len(text) == 10  # YYYY-MM-DD (parse_datetime would read it as midnight)


def trade_filters(params: Any) -> tuple[dict[str, str], list[str]]:
    """The recognised, non-empty filters of a query dict, and the messages for the ones refused."""
    filters, errors = {}, []
    for key in FILTER_KEYS:
        value = (params.get(key) or "").strip()
        if not value:
            continue
        if key in ("since", "until"):
            try:
                _moment(value, end=key == "until")
            except ValueError:
                errors.append(f"{key}: {value!r} is not a date (YYYY-MM-DD) or an ISO-8601 time")
                continue
        if key == "side" and value.upper() not in SIDES:
            errors.append(f"side: {value!r} is not LONG or SHORT")
            continue
        filters[key] = value.upper() if key == "side" else value
    return filters, errors


def filtered_trades(filters: dict[str, str]) -> QuerySet[Trade]:
    qs = Trade.objects.all()
    if "since" in filters:
        qs = qs.filter(exit_time__gte=_moment(filters["since"], end=False))
    if "until" in filters:
        bound = _moment(filters["until"], end=True)
        qs = qs.filter(exit_time__lt=bound) if _is_date(filters["until"]) else qs.filter(exit_time__lte=bound)
    if "side" in filters:
        qs = qs.filter(side=filters["side"])
    if "exit_reason" in filters:
        qs = qs.filter(exit_reason=filters["exit_reason"])
    return qs


def trade_totals(qs: QuerySet[Trade]) -> dict[str, Any]:
    """Count, net P&L, win rate (a win is pnl > 0) and profit factor over a filtered set."""
    agg = qs.aggregate(count=Count("id"), net=Sum("pnl_usd"), wins=Count("id", filter=Q(pnl_usd__gt=0)),
                       gross_profit=Sum("pnl_usd", filter=Q(pnl_usd__gt=0)),
                       gross_loss=Sum("pnl_usd", filter=Q(pnl_usd__lt=0)))
    count, profit, loss = agg["count"], agg["gross_profit"] or 0.0, -(agg["gross_loss"] or 0.0)
    return {"count": count, "net_pnl_usd": round(agg["net"] or 0.0, 2),
            "win_rate": agg["wins"] / count if count else None,
            "profit_factor": round(profit / loss, 3) if loss else None,
            "gross_profit_usd": round(profit, 2), "gross_loss_usd": round(-loss, 2)}


def _sort_key(text: str) -> str:
    return text if text.lstrip("-") in SORTS else DEFAULT_SORT


def _query(filters: dict[str, str], **extra: str) -> str:
    return urlencode({k: v for k, v in {**filters, **extra}.items() if v})


def _columns(filters: dict[str, str], sort: str) -> list[dict[str, str]]:
    """Sortable header links: a click on the sorted column flips it, another column starts descending."""
    out = []
    for key, label in (("exit_time", "Exit time"), ("side", "Side"), ("pnl", "P&L (USD)")):
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        target = (key if descending else f"-{key}") if current else (key if key == "side" else f"-{key}")
        out.append({"key": key, "label": label, "query": _query(filters, sort=target),
                    "aria": ("descending" if descending else "ascending") if current else "none"})
    return out


@require_GET
def trades(request: HttpRequest) -> HttpResponse:
    filters, errors = trade_filters(request.GET)
    sort = _sort_key(request.GET.get("sort", DEFAULT_SORT))
    qs = filtered_trades(filters)
    field = SORTS[sort.lstrip("-")]
    ordered = qs.order_by(f"-{field}" if sort.startswith("-") else field, "-exit_time", "-id")
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page, "filters": filters, "errors": errors, "sort": sort, "totals": trade_totals(qs),
        "columns": _columns(filters, sort), "query": _query(filters, sort=sort if sort != DEFAULT_SORT else ""),
        "export_csv": "/api/v1/trades/?" + _query({"format": "csv", **filters}),
        "export_json": "/api/v1/trades/?" + _query({"format": "json", **filters}),
        "exit_reasons": list(Trade.objects.order_by("exit_reason").values_list("exit_reason", flat=True).distinct()),
        "sides": SIDES,
    }
    return render(request, "trading/trades.html", context)
