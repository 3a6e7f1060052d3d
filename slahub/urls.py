from django.contrib import admin
from django.urls import include, path

from slahub.security import PasswordResetView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("slahub.api_urls")),
    path("reports/", include("reports.urls")),
    path("", include("slahub.web_urls")),
]
