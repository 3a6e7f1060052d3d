"""The OpenAPI schema and Swagger UI, behind login unless SLAHUB_PUBLIC_API_DOCS=1 (the
permission, slahub.security.ApiDocsPermission, is drf-spectacular's SERVE_PERMISSIONS)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start script served as a file (no inline script under the CSP);
    a visitor not logged in is sent to the login page rather than given an error."""

    template_name = "api/swagger_ui.html"

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied) and not (
            self.request.user and self.request.user.is_authenticated
        ):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
