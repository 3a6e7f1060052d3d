"""Who may act on a lead — one rule for the API, the pages and the admin.

`memberships` (team id → role) may be passed by callers that already loaded them.
"""

from __future__ import annotations

from collections.abc import Mapping

from agreements.models import Membership
from leads.models import Lead


def memberships_of(user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("team_id", "role"))


def can_work_lead(user, lead: Lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Log touches, accept or reject: staff, or a member of the lead's sales team."""
    if user.is_staff:
        return True
    memberships = memberships_of(user) if memberships is None else memberships
    return lead.sales_team_id in memberships


def can_manage_lead(user, lead: Lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Reassign: staff, or a manager of the lead's sales team."""
    if user.is_staff:
        return True
    memberships = memberships_of(user) if memberships is None else memberships
    return memberships.get(lead.sales_team_id) == Membership.Role.MANAGER


def can_edit_lead(user, lead: Lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Change its details, hand it off or move its stage: staff, or a member of either of
    the lead's teams (marketing hands off and recycles, sales converts)."""
    if user.is_staff:
        return True
    memberships = memberships_of(user) if memberships is None else memberships
    return bool({lead.sales_team_id, lead.marketing_team_id} & set(memberships) - {None})
