"""Reads for the connectors page: the connectors a user may configure, and their runs."""

from __future__ import annotations

from django.db.models import QuerySet

from agreements import access
from connectors.models import Connector, SyncRun


def connectors_visible_to(user) -> QuerySet[Connector]:
    connectors = Connector.objects.select_related("sales_team", "marketing_team", "run_as")
    if access.is_staff(user):
        return connectors
    managed = access.managed_team_ids(user)
    return connectors.filter(sales_team_id__in=managed) | connectors.filter(
        marketing_team_id__in=managed
    )


def runs_of(connector: Connector, *, limit: int = 20) -> list[SyncRun]:
    return list(connector.runs.order_by("-created_at", "-id")[:limit])
