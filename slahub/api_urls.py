"""REST API: /api/v1/… resources, the OpenAPI schema and its docs."""

from django.urls import include, path

urlpatterns = [
    path("v1/", include("reports.api")),
]
