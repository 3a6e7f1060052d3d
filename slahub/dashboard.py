"""Reads for the dashboard pages: who someone is here and breaches to acknowledge. The rep's
queue and the leads nobody owes are in leads.selectors; the homes' figures (compliance, quota
pace, acceptance) in reports.homes, counted by the report metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet

from agreements.models import Agreement, AgreementVersion, Membership, Side, Team
from leads.models import Breach, Lead, Obligation

Status = Obligation.Status


# Who is who ------------------------------------------------------------------------------


@dataclass
class Roles:
    """A person's memberships, read once per page."""

    memberships: list[Membership] = field(default_factory=list)

    def teams(self, side: str | None = None, *, managed: bool = False) -> list[Team]:
        return [
            m.team
            for m in self.memberships
            if (side is None or m.team.side == side)
            and (not managed or m.role == Membership.Role.MANAGER)
        ]

    def home_of(self, user) -> str:
        """The URL name of this person's home page (staff outside teams: the team page)."""
        if not self.memberships and user.is_staff:
            return "team-home"
        return self.home

    @property
    def home(self) -> str:
        """The URL name of a team member's home page."""
        if self.teams(Side.SALES, managed=True):
            return "team-home"
        if self.teams(Side.SALES):
            return "queue"
        if self.teams(Side.MARKETING):
            return "marketing-home"
        return "welcome"

    @property
    def is_any_manager(self) -> bool:
        return any(m.role == Membership.Role.MANAGER for m in self.memberships)

    def timezone(self) -> str:
        return self.memberships[0].team.timezone if self.memberships else "UTC"


def roles_of(user) -> Roles:
    return Roles(list(Membership.objects.filter(user=user).select_related("team")))


def breaches_to_acknowledge(teams: list[Team]) -> QuerySet[Breach]:
    """Open breaches of `teams`, the most recent first."""
    return (
        Breach.objects.filter(team__in=teams, status=Breach.Status.OPEN)
        .select_related("lead", "user")
        .order_by("-due_at", "-id")
    )


# Marketing -------------------------------------------------------------------------------


def agreements_of(teams: list[Team]) -> QuerySet[Agreement]:
    return (
        Agreement.objects.filter(Q(marketing_team__in=teams) | Q(sales_team__in=teams))
        .select_related("calendar", "marketing_team", "sales_team")
        .distinct()
    )


def handed_off_between(agreement: Agreement, start: datetime, end: datetime) -> QuerySet[Lead]:
    return (
        Lead.objects.filter(
            sales_team_id=agreement.sales_team_id,
            handed_off_at__gte=start,
            handed_off_at__lt=end,
        )
        .select_related("owner")
        .order_by("-handed_off_at", "-id")
    )


def active_version(agreement: Agreement) -> AgreementVersion | None:
    return agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first()
