"""Websocket routes (DESIGN §6)."""

from django.urls import path

from trading.web.consumers import DashboardConsumer

websocket_urlpatterns = [path("ws/dashboard/", DashboardConsumer.as_asgi())]
