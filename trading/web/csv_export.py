"""List endpoints that page as JSON and stream as CSV (DESIGN §6), shared by every `/api/v1/` list.

`?format=csv` ignores pagination and streams every matching row: the queryset is read with
`.values_list(...).iterator(chunk_size=2000)` and written through `csv.writer` into a pseudo-buffer,
so an export of a million rows never sits in memory, neither as model instances nor as text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from trading import roles

CHUNK_SIZE = 2000
# Rows handed to the ASGI server per thread hop: large enough to amortise the hop, small enough to stream.
ASYNC_BATCH_ROWS = 500


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with a `Z` suffix, as in the backtest CSVs (`2025-03-04T15:00:00Z`)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def cell(value: Any) -> Any:
    """One CSV cell: times in UTC, JSON columns as JSON, None as empty, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


class _Echo:
    """A file-like object whose `write` returns the line instead of storing it (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def _next_batch(lines: Iterator[bytes]) -> bytes:
    return b"".join(islice(lines, ASYNC_BATCH_ROWS))


class CsvStreamingResponse(StreamingHttpResponse):
    """Streams under WSGI and ASGI alike.

    Under ASGI (daphne serves MIA) Django consumes a synchronous iterator with `list()` before
    sending anything, which would load the whole export into memory. Here the ASGI path pulls
    batches of lines from the same iterator instead, in the request's own thread
    (`thread_sensitive`), so the database cursor stays on the connection that opened it.
    """

    async def __aiter__(self) -> AsyncIterator[bytes]:  # type: ignore[override]
        lines = iter(self.streaming_content)
        next_batch = sync_to_async(_next_batch, thread_sensitive=True)
        while batch := await next_batch(lines):
            yield batch


def stream_csv(queryset: QuerySet, columns: Mapping[str, str], name: str) -> CsvStreamingResponse:
    """Every row of `queryset` as CSV, headed by the keys of `columns` (header -> ORM lookup)."""
    rows = queryset.values_list(*columns.values()).iterator(chunk_size=CHUNK_SIZE)
    return csv_response(csv_lines(columns.keys(), rows), name)


def csv_response(lines: Iterator[str], name: str) -> CsvStreamingResponse:
    """A CSV download named `mia-<name>-<UTC time>.csv`."""
    response = CsvStreamingResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="mia-{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


class CSVRenderer(BaseRenderer):
    """Lets `?format=csv` through content negotiation; list views stream instead of rendering.

    What still comes here is a non-list answer (one object, or the rows of a small view): written
    as CSV with the columns of the first row.
    """

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
        if not rows:
            return b""
        header = list(rows[0])
        return "".join(csv_lines(header, ([row.get(key) for key in header] for row in rows))).encode()


class IsViewer(BasePermission):
    """Read access for viewers and up (DESIGN §7); a logged-in user with no role is refused too."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.has_role(request.user, roles.VIEWER)


class ApiPagination(PageNumberPagination):
    """`?page=&page_size=`; 100 rows a page unless asked, at most 1000 (CSV has no limit)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class StableOrderingFilter(OrderingFilter):
    """`?ordering=`, with the primary key as the last tie-breaker so pages never overlap or skip rows."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not any(term.lstrip("-") in ("pk", "id") for term in ordering):
            last_descending = bool(ordering) and ordering[-1].startswith("-")
            ordering.append("-pk" if last_descending else "pk")
        return ordering

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = [name for name in (getattr(view, "ordering_fields", None) or []) if isinstance(name, str)]
        default = ",".join(getattr(view, "ordering", None) or [])
        [parameter] = super().get_schema_operation_parameters(view)
        parameter["description"] = (f"Sort by {', '.join(fields) or 'the default order'}; prefix with - for "
                                    f"descending, separate several with commas. Default: {default or 'none'}.")
        return [parameter]


FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=["json", "csv"],
    description="json (default, paginated) or csv: every matching row as a streamed download, not paginated.")


class ExportListSchema(AutoSchema):
    """Documents `?format=`, and that a CSV answer is text rather than the JSON page."""

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), FORMAT_PARAMETER]

    def _get_response_for_code(self, serializer: Any, status_code: str, media_types: Any = None,
                               direction: str = "response") -> dict[str, Any]:
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        content = response.get("content") or {}
        if CSVRenderer.media_type in content:
            content[CSVRenderer.media_type] = {"schema": {
                "type": "string", "description": "CSV with a header row; every matching row, unpaginated."}}
        return response


class ExportListView(generics.ListAPIView):
    """A read-only list: FilterSet filters, `?ordering=`, pages as JSON, `?format=csv` streamed.

    Subclasses set `queryset`, `serializer_class`, `filterset_class`, `ordering_fields`, `ordering`,
    `csv_columns` (header -> ORM lookup, in column order) and `csv_name` (the download's file name).
    """

    renderer_classes = [JSONRenderer, CSVRenderer]
    schema = ExportListSchema()
    permission_classes = [IsViewer]
    pagination_class = ApiPagination
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    csv_columns: Mapping[str, str] = {}
    csv_name = "export"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if request.accepted_renderer.format == "csv":
            return stream_csv(self.filter_queryset(self.get_queryset()), self.csv_columns, self.csv_name)
        return super().list(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        # A bad filter is explained in JSON even when CSV was asked for: a CSV of error messages
        # would look like data to the script that downloaded it.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)
