"""REST export routes under /api/v1/ (DESIGN §6); status, kill switch and schema are in mia_site/urls.py,
options/snapshots/ in options/urls.py."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularSwaggerView

from trading import api

urlpatterns = [
    path("trades/", api.trade_list_view, name="api-trades"),
    path("signals/", api.signal_list_view, name="api-signals"),
    path("orders/", api.order_list_view, name="api-orders"),
    path("fills/", api.fill_list_view, name="api-fills"),
    path("daily-stats/", api.daily_stats_list_view, name="api-daily-stats"),
    path("positions/", api.position_list_view, name="api-positions"),
    path("models/", api.model_version_list_view, name="api-models"),
    # Swagger UI from the drf-spectacular-sidecar static files (no CDN). A page for people, so an
    # anonymous visitor is sent to the login page (DRF views opt out of LoginRequiredMiddleware).
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
]
