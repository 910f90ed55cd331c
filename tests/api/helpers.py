"""Small helpers shared by the REST export tests."""

from __future__ import annotations

import csv
import io

from django.http import StreamingHttpResponse
from django.test import Client
from rest_framework.authtoken.models import Token


def token_client(user) -> Client:
    """A client that sends only `Authorization: Token ...`: no session, no CSRF cookie."""
    key = Token.objects.create(user=user).key
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {key}")


def csv_text(response) -> str:
    assert response.status_code == 200, response
    assert isinstance(response, StreamingHttpResponse), "a CSV export must stream"
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(response))))


def csv_header(response) -> list[str]:
    return next(csv.reader(io.StringIO(csv_text(response))))


def refused(response) -> bool:
    """Anonymous API requests get 401/403 from DRF, never a redirect to the login page."""
    return response.status_code in (401, 403) and "Location" not in response
