"""REST API: /api/v1/… resources, the OpenAPI schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from agreements.api import AgreementViewSet, CalendarViewSet, GoalViewSet, TeamViewSet
from integrations.api import ImportViewSet, InboundWebhookView, WebhookViewSet
from leads.api import ActivityViewSet, BreachViewSet, LeadViewSet, ObligationViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("teams", TeamViewSet, basename="team")
router.register("calendars", CalendarViewSet, basename="calendar")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("goals", GoalViewSet, basename="goal")
router.register("leads", LeadViewSet, basename="lead")
router.register("activities", ActivityViewSet, basename="activity")
router.register("obligations", ObligationViewSet, basename="obligation")
router.register("breaches", BreachViewSet, basename="breach")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("imports", ImportViewSet, basename="import")

urlpatterns = [
    path("v1/", include("reports.api")),
    path("v1/", include(router.urls)),
    path("v1/inbound/<slug:slug>/", InboundWebhookView.as_view(), name="inbound-webhook"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
