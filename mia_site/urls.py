from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from trading import api, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("partials/state/", views.state_partial, name="state-partial"),
    path("killswitch/", views.killswitch, name="killswitch"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/status/", api.status_view, name="api-status"),
    path("api/v1/killswitch/", api.killswitch_view, name="api-killswitch"),
    path("api/v1/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/v1/", include("trading.api_urls")),
    path("", include("trading.page_urls")),
    path("", include("options.urls")),
    path("", include("mlfilter.urls")),
]
