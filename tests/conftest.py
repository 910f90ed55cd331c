"""Personas and clients shared by the suite (anonymous visitor, viewer, operator, risk admin)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from trading import roles, services


@pytest.fixture
def trading_state(db):
    return services.ensure_trading_state()


@pytest.fixture
def viewer(db):
    return UserFactory(username="vera", role=roles.VIEWER)


@pytest.fixture
def operator(db):
    return UserFactory(username="oscar", role=roles.OPERATOR)


@pytest.fixture
def risk_admin(db):
    return UserFactory(username="rita", role=roles.RISK_ADMIN)


def _client_for(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def anon_client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return _client_for(viewer)


@pytest.fixture
def operator_client(operator) -> Client:
    return _client_for(operator)


@pytest.fixture
def risk_admin_client(risk_admin) -> Client:
    return _client_for(risk_admin)


def csrf_token(client: Client) -> str:
    """Load the dashboard to get a CSRF cookie, as a browser would."""
    client.get("/")
    return client.cookies["csrftoken"].value


from tests.redis_fixtures import real_redis, redis_url  # noqa: E402,F401 - shared fixtures
