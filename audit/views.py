"""/settings/audit/: the audit log of the teams a manager manages (staff: all)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.models import Action
from audit.services import events_visible_to, manages_a_team

PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not manages_a_team(request.user):
        raise PermissionDenied("The audit log is for team managers.")
    events = events_visible_to(request.user)
    action = request.GET.get("action", "")
    if action in Action.values:
        events = events.filter(action=action)
    else:
        action = ""
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "settings/audit.html",
        {
            "nav": "settings",
            "page": page,
            "events": page.object_list,
            "actions": Action.choices,
            "action": action,
            "query": urlencode({"action": action}) if action else "",
        },
    )
