"""REST API: /api/v1/… resources, the OpenAPI schema and its docs."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.routers import DefaultRouter

from agreements.api import AgreementViewSet, GoalViewSet
from agreements.api_me import MeView
from agreements.provisioning_api import CalendarViewSet, RejectionReasonViewSet, TeamViewSet
from integrations.api import ImportViewSet, InboundWebhookView, WebhookViewSet
from leads.api import (
    ActivityViewSet,
    BreachViewSet,
    ContestViewSet,
    LeadViewSet,
    ObligationViewSet,
)
from slahub.api_docs import DocsView, SchemaView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("teams", TeamViewSet, basename="team")
router.register("calendars", CalendarViewSet, basename="calendar")
router.register("rejection-reasons", RejectionReasonViewSet, basename="rejection-reason")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("goals", GoalViewSet, basename="goal")
router.register("leads", LeadViewSet, basename="lead")
router.register("activities", ActivityViewSet, basename="activity")
router.register("obligations", ObligationViewSet, basename="obligation")
router.register("breaches", BreachViewSet, basename="breach")
router.register("contests", ContestViewSet, basename="contest")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("imports", ImportViewSet, basename="import")


@csrf_exempt
def not_found(request, rest: str = "") -> JsonResponse:
    """Any other /api/ address: a 404 in the API's error shape (never an HTML page)."""
    body = {"status": 404, "code": "not_found", "detail": "Not found.", "fields": {}}
    return JsonResponse(body, status=404)


urlpatterns = [
    path("v1/me/", MeView.as_view(), name="api-me"),
    path("v1/", include("reports.api")),
    path("v1/", include("slahub.api_csv")),
    path("v1/", include(router.urls)),
    path("v1/inbound/<slug:slug>/", InboundWebhookView.as_view(), name="inbound-webhook"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^(?P<rest>[\s\S]*)$", not_found),  # any character, line breaks included
]
