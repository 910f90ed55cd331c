"""Dashboard pages and htmx partials. Small views; the work lives in services and selectors."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from options.selectors import levels_for_es
from trading import health, selectors, services
from trading.pnl import pnl_snapshot


def _account(beat: dict) -> dict | None:
    """The venue account the gateway trades (mode and masked id), when it trades at a venue."""
    venue = beat.get("broker_status") or {}
    if not venue.get("mode"):
        return None
    return {"mode": venue["mode"], "account": venue.get("account", ""),
            "contract": (beat.get("venue") or {}).get("contract")}


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    bars = selectors.recent_bars(settings.MIA_SYMBOL, limit=240)
    beat = health.gateway_beat()
    context = {
        **_state(),
        "bars": [b.as_message() for b in bars],
        "gateway": beat,
        "simulated": beat.get("simulated", settings.MIA_FEED == "sim"),
        "account": _account(beat),
        "quarantined": selectors.quarantined_count(),
        "audit": selectors.audit_trail(limit=10),
        "signals": selectors.recent_signals(limit=15),
        "pnl": pnl_snapshot(settings.MIA_SYMBOL, beat.get("last_price")),
        "levels": levels_for_es(),
        "sr_levels": selectors.support_resistance_levels(settings.MIA_SYMBOL),
        "health": health.report(ping_workers=False),
        "working_orders": selectors.working_orders(),
        "trades": selectors.recent_trades(limit=15),
        "fills": selectors.recent_fills(limit=15),
        "fill_markers": [{"ts": f.ts.isoformat(), "price": f.price, "side": f.side, "role": f.order.intent.role}
                         for f in selectors.recent_fills(limit=200)],
        "exchange_tz": settings.MIA_EXCHANGE_TZ,
    }
    return render(request, "trading/dashboard.html", context)


@require_GET
def state_partial(request: HttpRequest) -> HttpResponse:
    return render(request, "trading/_state.html", _state())


def _state(**extra) -> dict:
    row = selectors.trading_state()
    return {"state": row, "pending": services.state_message(row)["pending"], **extra}


@require_POST
def killswitch(request: HttpRequest) -> HttpResponse:
    """The dashboard's kill switch (htmx). The confirmation step is in the page's dialog."""
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip() or f"{action} from the dashboard"
    if action not in services.KILL_ACTIONS:
        return HttpResponse("unknown action", status=400)
    try:
        services.kill_switch(action=action, actor=services.Actor.for_user(request.user), reason=reason)
    except services.PermissionDenied as exc:
        return render(request, "trading/_state.html", _state(error=str(exc)), status=403)
    return render(request, "trading/_state.html", _state())


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.report()
    return JsonResponse(report, status=200 if report["status"] != "down" else 503)
