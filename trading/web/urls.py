"""Every route of the trading app's web layer: pages, htmx partials, the kill switch, /healthz and the
REST export under /api/v1/ (DESIGN §6). Included from mia_site/urls.py; options/ and mlfilter/ have
their own."""

from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from trading.web import api
from trading.web.views import backtests, dashboard, signals, trades

pages = [
    path("", dashboard.dashboard, name="dashboard"),
    path("partials/state/", dashboard.state_partial, name="state-partial"),
    path("killswitch/", dashboard.killswitch, name="killswitch"),
    path("healthz", dashboard.healthz, name="healthz"),
    path("trades/", trades.trades, name="trades"),
    path("signals/", signals.signals, name="signals"),
    path("signals/<int:pk>/", signals.signal_detail, name="signal-detail"),
    path("backtests/", backtests.backtests, name="backtests"),
    path("backtests/<int:pk>/", backtests.backtest_detail, name="backtest-detail"),
    path("backtests/<int:pk>/status/", backtests.backtest_status, name="backtest-status"),
    path("backtests/<int:pk>/cancel/", backtests.backtest_cancel, name="backtest-cancel"),
    path("backtests/<int:pk>/report/", backtests.backtest_report, name="backtest-report"),
    path("backtests/<int:pk>/<str:kind>.csv", backtests.backtest_download, name="backtest-download"),
]

rest = [
    path("api/v1/status/", api.status_view, name="api-status"),
    path("api/v1/killswitch/", api.killswitch_view, name="api-killswitch"),
    path("api/v1/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/v1/trades/", api.trade_list_view, name="api-trades"),
    path("api/v1/signals/", api.signal_list_view, name="api-signals"),
    path("api/v1/orders/", api.order_list_view, name="api-orders"),
    path("api/v1/fills/", api.fill_list_view, name="api-fills"),
    path("api/v1/daily-stats/", api.daily_stats_list_view, name="api-daily-stats"),
    path("api/v1/positions/", api.position_list_view, name="api-positions"),
    path("api/v1/models/", api.model_version_list_view, name="api-models"),
    # Swagger UI from the drf-spectacular-sidecar static files (no CDN). A page for people, so an
    # anonymous visitor is sent to the login page (DRF views opt out of LoginRequiredMiddleware).
    path("api/v1/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
]

urlpatterns = pages + rest
