"""Browser dashboard pages.

Placeholder routes: the URL names are fixed (emails and reports link to them); the
dashboard work replaces the views.
"""

from django.http import HttpResponse
from django.urls import path


def _placeholder(request, **kwargs):
    return HttpResponse("Coming soon", status=501)


urlpatterns = [
    path("", _placeholder, name="home"),
    path("leads/<int:pk>/", _placeholder, name="lead-detail"),
    path("breaches/", _placeholder, name="breach-list"),
    path("breaches/<int:pk>/", _placeholder, name="breach-detail"),
    path("agreements/<int:pk>/", _placeholder, name="agreement-detail"),
    path("settings/notifications/", _placeholder, name="settings-notifications"),
    path("settings/tokens/", _placeholder, name="settings-tokens"),
]
