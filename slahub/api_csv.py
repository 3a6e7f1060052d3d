"""The CSV downloads of the pages, under /api/v1/ for scripts with an API token (or a
session): every report table (`reports/<page>/<table>.csv`) and the lead list
(`leads/export.csv`, the list page's filters). Same files, same access rules as the pages;
errors in the API's one shape."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.forms import LeadFilterForm
from leads.list_views import lead_export_csv, lead_filter_form
from reports.api import FILTER_PARAMETERS
from reports.views import ExportError, export_csv


class CSVRenderer(BaseRenderer):
    """Lets a client ask for `Accept: text/csv`; the views answer with the file itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CSVView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are JSON in the API's error shape, whatever the client accepted.
        if isinstance(response, Response):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


CSV_RESPONSE = {(200, "text/csv"): OpenApiTypes.STR}


class ReportCSVView(CSVView):
    """One table of a report page as CSV, the same numbers as the page (`page`: compliance,
    funnel, scorecard or review; `table`: the name in the page's "CSV" link). Unknown
    report, table or filter: 400."""

    @extend_schema(
        operation_id="reports_csv",
        parameters=[
            OpenApiParameter(
                "page",
                {"type": "string", "enum": ["compliance", "funnel", "scorecard", "review"]},
                OpenApiParameter.PATH,
            ),
            OpenApiParameter(
                "table", {"type": "string", "pattern": "^[a-z_]{1,40}$"}, OpenApiParameter.PATH
            ),
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "by",
                {"type": "string", "enum": ["campaign", "lead_source"]},
                description="Funnel only.",
            ),
            OpenApiParameter(
                "month",
                {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                description="Review only: the month as YYYY-MM.",
            ),
        ],
        responses=CSV_RESPONSE,
        tags=["reports"],
    )
    def get(self, request: Request, page: str, table: str) -> HttpResponse:
        try:
            return export_csv(request._request, page, table)
        except ExportError as exc:
            raise ValidationError(str(exc)) from exc


class LeadCSVView(CSVView):
    """The leads you see, filtered as on the lead list (every page), as CSV. A filter value
    that is not valid: 400 naming the parameter."""

    @extend_schema(
        operation_id="leads_csv",
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description=field.help_text or field.label)
            for name, field in LeadFilterForm.base_fields.items()
        ],
        responses=CSV_RESPONSE,
        tags=["leads"],
    )
    def get(self, request: Request) -> HttpResponse:
        form = lead_filter_form(request._request)
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        return lead_export_csv(request._request)


urlpatterns = [
    path("reports/<slug:page>/<slug:table>.csv", ReportCSVView.as_view(), name="api-report-csv"),
    path("leads/export.csv", LeadCSVView.as_view(), name="api-lead-csv"),
]
