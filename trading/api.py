"""REST API (DESIGN §6): status and the kill switch. Session (CSRF-checked) or token auth."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trading import health, selectors, services


class KillSwitchSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(services.KILL_ACTIONS))
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class StateSerializer(serializers.Serializer):
    state = serializers.CharField()
    reason = serializers.CharField()
    changed_by = serializers.CharField()
    changed_at = serializers.DateTimeField(allow_null=True)


class StatusView(APIView):
    """Trading state and system health."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response({"trading": services.state_message(selectors.trading_state()), "health": health.report()})


class KillSwitchView(APIView):
    """Halt, reduce or flatten (operator); resume (risk_admin only)."""

    @extend_schema(request=KillSwitchSerializer, responses={200: StateSerializer})
    def post(self, request: Request) -> Response:
        body = KillSwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        action = body.validated_data["action"]
        reason = body.validated_data.get("reason") or f"{action} via API"
        try:
            row = services.kill_switch(action=action, actor=services.Actor.for_user(request.user), reason=reason)
        except services.PermissionDenied as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(services.state_message(row))


# DRF authenticates tokens inside the view, after Django's login middleware would have redirected:
# the API answers 401/403 itself instead.
status_view = login_not_required(StatusView.as_view())
killswitch_view = login_not_required(KillSwitchView.as_view())
