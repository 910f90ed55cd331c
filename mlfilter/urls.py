"""ML page. Included from mia_site/urls.py with `path("", include("mlfilter.urls"))`."""

from django.urls import path

from mlfilter import views

urlpatterns = [
    path("ml/", views.ml_page, name="ml"),
    path("ml/deploy/<int:pk>/", views.deploy_view, name="ml-deploy"),
    path("ml/runs/latest.json", views.latest_run_view, name="ml-latest-run"),
]
