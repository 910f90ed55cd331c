"""The Options page: GEX by strike, the dealer's-bias score and its history, gamma cycles."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from options import selectors


@require_GET
def options_page(request: HttpRequest) -> HttpResponse:
    """Initial data for every underlying travels in the page; `bias` websocket messages update it."""
    wanted = request.GET.get("underlying", selectors.BIAS_UNDERLYING).upper()
    current = wanted if wanted in selectors.UNDERLYINGS else selectors.BIAS_UNDERLYING
    initial = {}
    for underlying in selectors.UNDERLYINGS:
        latest = selectors.latest_snapshot(underlying)
        initial[underlying] = {
            "latest": selectors.bias_message(latest) if latest is not None else None,
            "history": selectors.history_points(underlying),
        }
    context = {"underlyings": selectors.UNDERLYINGS, "current": current, "initial": initial,
               "latest": initial[current]["latest"]}
    return render(request, "options/options.html", context)
