"""REST API (DESIGN §6): status, the kill switch and the read-only lists. Session (CSRF-checked) or token auth.

Routes: trading/web/urls.py.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mlfilter.models import ModelVersion
from trading import health, selectors, services
from trading.models import DailyStats, Fill, Order, Position, Signal, Trade
from trading.web import filters
from trading.web import serializers as api_serializers
from trading.web.csv_export import ExportListView


class KillSwitchSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(services.KILL_ACTIONS))
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class PendingCommandSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    age_s = serializers.FloatField()


class StateSerializer(serializers.Serializer):
    state = serializers.CharField()
    reason = serializers.CharField()
    changed_by = serializers.CharField()
    changed_at = serializers.DateTimeField(allow_null=True)
    pending = PendingCommandSerializer(many=True, help_text="commands the gateway has not confirmed yet: "
                                                            "a flatten listed here is queued, not done")


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


# --- Read-only lists (DESIGN §6): session or token auth, filters, ordering, pages, `?format=csv`. ---

SINCE_PARAMETER = OpenApiParameter("since", str, description=filters.SINCE_HELP)
UNTIL_PARAMETER = OpenApiParameter("until", str, description=filters.UNTIL_HELP)


class TradeListView(ExportListView):
    """Round trips, newest exit first. `since`/`until` bound the exit time; `pnl_usd` is net of commission.
    The CSV has the backtest's columns: entry_time,exit_time,side,qty,entry_price,exit_price,pnl_usd,
    commission_usd,exit_reason."""

    queryset = Trade.objects.all()
    serializer_class = api_serializers.TradeSerializer
    filterset_class = filters.TradeFilter
    ordering_fields = ["entry_time", "exit_time", "pnl_usd"]
    ordering = ["-exit_time"]
    csv_columns = api_serializers.TRADES_CSV
    csv_name = "trades"


class SignalListView(ExportListView):
    """One decision per bar, newest first: confluence, regime, strategy, ML confidence, risk verdict."""

    queryset = Signal.objects.all()
    serializer_class = api_serializers.SignalSerializer
    filterset_class = filters.SignalFilter
    ordering_fields = ["ts", "created_at", "confluence"]
    ordering = ["-ts"]
    csv_columns = api_serializers.SIGNALS_CSV
    csv_name = "signals"


class OrderListView(ExportListView):
    """Broker orders with their intent (role, side, prices), newest first; `since`/`until` bound creation."""

    queryset = Order.objects.select_related("intent")
    serializer_class = api_serializers.OrderSerializer
    filterset_class = filters.OrderFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]
    csv_columns = api_serializers.ORDERS_CSV
    csv_name = "orders"


class FillListView(ExportListView):
    """Executions, newest first."""

    queryset = Fill.objects.select_related("order__intent")
    serializer_class = api_serializers.FillSerializer
    filterset_class = filters.FillFilter
    ordering_fields = ["ts"]
    ordering = ["-ts"]
    csv_columns = api_serializers.FILLS_CSV
    csv_name = "fills"


class DailyStatsListView(ExportListView):
    """Per CME trading day, newest first; `since`/`until` compare the trading day (a date)."""

    queryset = DailyStats.objects.all()
    serializer_class = api_serializers.DailyStatsSerializer
    filterset_class = filters.DailyStatsFilter
    ordering_fields = ["day", "realized_pnl_usd"]
    ordering = ["-day"]
    csv_columns = api_serializers.DAILY_STATS_CSV
    csv_name = "daily-stats"


class PositionListView(ExportListView):
    """The position per symbol (qty signed: + long, - short); `since`/`until` bound its last update."""

    queryset = Position.objects.all()
    serializer_class = api_serializers.PositionSerializer
    filterset_class = filters.PositionFilter
    ordering_fields = ["symbol", "updated_at", "opened_at", "realized_pnl_usd"]
    ordering = ["symbol"]
    csv_columns = api_serializers.POSITIONS_CSV
    csv_name = "positions"


@extend_schema(parameters=[SINCE_PARAMETER, UNTIL_PARAMETER])
class ModelVersionListView(ExportListView):
    """ML filter model versions, newest first (every column of `mlfilter.models.ModelVersion`).
    `since`/`until` bound `created_at`; `?ordering=` takes any of its date-time columns or `id`."""

    queryset = ModelVersion.objects.all()
    serializer_class = api_serializers.ModelVersionSerializer
    filterset_class = filters.ModelVersionFilter
    ordering_fields = ["id", *filters.time_fields(ModelVersion)]
    ordering = ["-created_at"]
    csv_columns = api_serializers.MODEL_VERSIONS_CSV
    csv_name = "models"


trade_list_view = login_not_required(TradeListView.as_view())
signal_list_view = login_not_required(SignalListView.as_view())
order_list_view = login_not_required(OrderListView.as_view())
fill_list_view = login_not_required(FillListView.as_view())
daily_stats_list_view = login_not_required(DailyStatsListView.as_view())
position_list_view = login_not_required(PositionListView.as_view())
model_version_list_view = login_not_required(ModelVersionListView.as_view())
