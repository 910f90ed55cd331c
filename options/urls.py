"""Options page and API. Included from mia_site/urls.py with `path("", include("options.urls"))`."""

from django.urls import path

from options import api, views

urlpatterns = [
    path("options/", views.options_page, name="options"),
    path("api/v1/options/levels.csv", api.levels_csv_view, name="api-options-levels"),
    path("api/v1/options/snapshots/", api.snapshot_list_view, name="api-options-snapshots"),
    path("api/v1/options/snapshots/<int:pk>/", api.snapshot_detail_view, name="api-options-snapshot"),
]
