"""Every page needs a role: a logged-in user with none sees a page that says so, and no data.

Login (Django's ``LoginRequiredMiddleware``) keeps strangers out; this keeps out the accounts that
exist but were never given a role (viewer, operator or risk_admin), on every HTML page. The REST API
refuses them in its permission classes, the websocket in its consumer, and the admin by Django's own
model permissions (a user without a role holds none).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trading import roles

OPEN_PREFIXES = ("/login/", "/logout/", "/healthz", "/static/", "/favicon", "/admin/", "/api/")


class RoleRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and roles.role_of(user) is None
                and not request.path.startswith(OPEN_PREFIXES)):
            return render(request, "no_role.html", {"username": user.get_username()}, status=403)
        return self.get_response(request)
