"""The signal audit trail: every step from features to the trade result, for one bar's decision."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from trading.models import Fill, Order, OrderIntent, Signal, StrategyConfig, Trade

PAGE_SIZE = 50


def weights_at(signal: Signal) -> tuple[dict[str, float], bool]:
    """The confluence weights in force when the signal was scored, and whether that came from history.

    Without a history row (the defaults were never edited) the current weights are the ones used.
    """
    record = StrategyConfig.history.filter(history_date__lte=signal.created_at).order_by("-history_date").first()
    if record is not None:
        return record.instance.weights(), True
    current = StrategyConfig.objects.filter(pk=1).first() or StrategyConfig()
    return current.weights(), False


def contributions(signal: Signal, weights: dict[str, float]) -> tuple[list[dict[str, Any]], float]:
    """One row per weighted feature (value, weight, weight x value) and their sum."""
    rows, total = [], 0.0
    for name, weight in weights.items():
        value = signal.features.get(name)
        part = weight * value if isinstance(value, int | float) else None
        total += part or 0.0
        rows.append({"name": name, "value": value, "weight": weight, "contribution": part,
                     "share": round(part / weight * 100) if part is not None and weight else 0})
    return rows, total


def order_chain(signal: Signal) -> dict[str, Any]:
    """Intents of the signal's brackets (stops and targets share the entry's bracket id), their orders,
    fills and the trades they closed."""
    brackets = [b for b in signal.intents.values_list("bracket_id", flat=True) if b]
    intents = list(OrderIntent.objects.filter(Q(signal=signal) | Q(bracket_id__in=brackets))
                   .select_related("order").order_by("created_at", "id"))
    rows = []
    for intent in intents:
        try:
            order = intent.order
        except Order.DoesNotExist:
            order = None
        rows.append({"intent": intent, "order": order})
    fills = Fill.objects.filter(order__intent__in=intents).select_related("order__intent").order_by("ts", "id")
    trades = Trade.objects.filter(Q(signal=signal) | Q(bracket_id__in=brackets)).order_by("exit_time", "id")
    return {"orders": rows, "fills": list(fills), "trades": list(trades)}


@require_GET
def signals(request: HttpRequest) -> HttpResponse:
    page = Paginator(Signal.objects.order_by("-ts", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "trading/signals.html", {"page": page})


@require_GET
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    signal = get_object_or_404(Signal.objects.select_related("bar"), pk=pk)
    weights, historical = weights_at(signal)
    rows, total = contributions(signal, weights)
    weighted = set(weights)
    others = sorted((k, v) for k, v in signal.features.items() if k not in weighted)
    context = {"signal": signal, "rows": rows, "weighted_sum": total, "weights_historical": historical,
               "others": others, **order_chain(signal)}
    return render(request, "trading/signal_detail.html", context)
