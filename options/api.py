"""REST API for options snapshots and the ES overlay (session or token auth, DESIGN §6)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from options import selectors
from options.models import OptionsSnapshot
from options.overlays import render_csv


class CSVRenderer(BaseRenderer):
    """`?format=csv`: the page's rows (or one object) as CSV, columns from the first row."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, dict) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        else:
            rows = [data] if data else []
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]), extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return buf.getvalue().encode()


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = OptionsSnapshot
        fields = ["id", "underlying", "asof", "source", "simulated", "valid", "errors", "spot", "contracts",
                  "total_gex_bn", "total_gex_model_bn", "gamma_flip", "call_wall", "put_wall", "pcr_oi",
                  "pcr_volume", "dealer_bias_score", "es_basis", "rejected_rows", "created_at"]


class SnapshotDetailSerializer(SnapshotSerializer):
    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "bias_components", "profile", "cycles", "chain_path"]


def _instant(name: str, raw: str | None, *, end_of_day: bool = False) -> datetime | None:
    """ISO date-time (naive = UTC) or date (start of day, or end of day for `until`)."""
    if not raw:
        return None
    try:
        day = parse_date(raw)  # a bare date first: parse_datetime would read it as midnight
        value = datetime.combine(day, time.max if end_of_day else time.min) if day else parse_datetime(raw)
        if value is None:
            raise ValueError
    except ValueError:
        raise ValidationError({name: f"not an ISO-8601 date or date-time: {raw!r}"}) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@extend_schema(parameters=[
    OpenApiParameter("underlying", str, description="SPX, NDX, ..."),
    OpenApiParameter("since", str, description="ISO date or date-time (inclusive; naive = UTC)"),
    OpenApiParameter("until", str, description="ISO date or date-time (inclusive; naive = UTC)"),
])
class SnapshotListView(generics.ListAPIView):
    """Options snapshots, newest first."""

    serializer_class = SnapshotSerializer
    renderer_classes = [JSONRenderer, CSVRenderer]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        return selectors.snapshots(
            underlying=params.get("underlying") or None,
            since=_instant("since", params.get("since")),
            until=_instant("until", params.get("until"), end_of_day=True),
        ).defer("profile", "cycles", "bias_components")


class SnapshotDetailView(generics.RetrieveAPIView):
    """One snapshot with its per-strike GEX profile, gamma cycles and bias components."""

    serializer_class = SnapshotDetailSerializer
    queryset = OptionsSnapshot.objects.all()
    renderer_classes = [JSONRenderer]


class LevelsCsvView(APIView):
    """The newest SPX gamma flip and walls in ES prices, `price,label,color` (the Sierra Chart overlay)."""

    renderer_classes = [CSVRenderer, JSONRenderer]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(render_csv(selectors.levels_for_es()), content_type="text/csv; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response


# DRF authenticates sessions and tokens itself and answers 401/403 instead of a login redirect.
snapshot_list_view = login_not_required(SnapshotListView.as_view())
snapshot_detail_view = login_not_required(SnapshotDetailView.as_view())
levels_csv_view = login_not_required(LevelsCsvView.as_view())
