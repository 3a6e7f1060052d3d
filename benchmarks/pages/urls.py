"""The app's URLs plus the floor of the pages bench: a logged-in page rendered with
base.html whose view makes no query (the session and user lookups every page pays remain)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

FLOOR = engines["django"].from_string(
    '{% extends "base.html" %}{% block title %}Floor{% endblock %}'
    "{% block content %}<h1>A page with no queries</h1>{% endblock %}"
)


@login_required
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(FLOOR.render({"nav": "home"}, request))


urlpatterns = [
    path("bench/floor/", floor, name="bench-floor"),
    path("", include("slahub.urls")),
]
