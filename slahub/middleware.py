"""Show times in the signed-in person's team time zone."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone


class TeamTimezoneMiddleware:
    """Activate the time zone of the user's first team (remembered in the session) for
    pages; API responses are left in the default time zone."""

    SESSION_KEY = "slahub_tz"
    API_PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        page = not request.path.startswith(self.API_PREFIX)  # the API speaks UTC offsets as stored
        if page and user is not None and user.is_authenticated:
            name = request.session.get(self.SESSION_KEY)
            if name is None:
                from agreements.models import Membership

                name = (
                    Membership.objects.filter(user=user)
                    .order_by("id")
                    .values_list("team__timezone", flat=True)
                    .first()
                ) or ""
                request.session[self.SESSION_KEY] = name
            if name:
                try:
                    timezone.activate(zoneinfo.ZoneInfo(name))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
