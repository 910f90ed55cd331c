"""REST API for options snapshots and the ES overlay (session or token auth, DESIGN §6).

The snapshot list shares the machinery of the trading lists (trading/csv_export.py, trading/filters.py):
`?since=&until=` on `asof`, `?ordering=`, pages, and a streamed `?format=csv`.
"""

from __future__ import annotations

import django_filters as filters
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from options import selectors
from options.models import OptionsSnapshot
from options.overlays import render_csv
from trading.web.csv_export import CSVRenderer, ExportListView
from trading.web.filters import since_until


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = OptionsSnapshot
        fields = ["id", "underlying", "asof", "source", "simulated", "valid", "errors", "spot", "contracts",
                  "total_gex_bn", "total_gex_model_bn", "gamma_flip", "call_wall", "put_wall", "pcr_oi",
                  "pcr_volume", "dealer_bias_score", "es_basis", "rejected_rows", "created_at"]


class SnapshotDetailSerializer(SnapshotSerializer):
    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "bias_components", "profile", "cycles", "chain_path"]


class SnapshotFilter(filters.FilterSet):
    since, until = since_until("asof")
    underlying = filters.CharFilter(lookup_expr="iexact", help_text="SPX, NDX, ... (any case).")
    valid = filters.BooleanFilter(help_text="true: only snapshots whose chain passed validation.")

    class Meta:
        model = OptionsSnapshot
        fields = ["since", "until", "underlying", "valid"]


class SnapshotListView(ExportListView):
    """Options snapshots, newest first, without the per-strike profile (see the detail endpoint)."""

    queryset = OptionsSnapshot.objects.defer("profile", "cycles", "bias_components")
    serializer_class = SnapshotSerializer
    filterset_class = SnapshotFilter
    ordering_fields = ["asof", "created_at"]
    ordering = ["-asof"]
    csv_columns = {name: name for name in SnapshotSerializer.Meta.fields}
    csv_name = "options-snapshots"


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
