"""Reads for the dashboard pages: who someone is here, their queue, unassigned leads and
breaches to acknowledge. The homes' figures (compliance, quota pace, acceptance) are in
reports.homes, counted by the report metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Min, Prefetch, Q, QuerySet

from agreements.models import Agreement, AgreementVersion, Commitment, Membership, Side, Team
from leads.models import CLOSED_STAGES, Breach, Lead, Obligation

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


def local_day(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """Midnight to midnight of `now`'s date in time zone `tz`."""
    local = now.astimezone(ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)  # wall-clock: the next local midnight


# The rep's queue -------------------------------------------------------------------------


def _open_clocks(user=None) -> Prefetch:
    clocks = Obligation.objects.filter(status=Status.OPEN).order_by("due_at")
    if user is not None:
        clocks = clocks.filter(user=user)
    return Prefetch("obligations", queryset=clocks, to_attr="open_clocks")


def queue_leads(user) -> QuerySet[Lead]:
    """Leads with a running clock owed by `user`, the least time left first (overdue on
    top); each carries `open_clocks` and `next_due`."""
    mine = Q(obligations__status=Status.OPEN, obligations__user=user)
    return (
        Lead.objects.filter(mine)
        .annotate(next_due=Min("obligations__due_at", filter=mine))
        .order_by("next_due", "id")
        .prefetch_related(_open_clocks(user))
    )


def queue_lead(lead_id: int, user) -> Lead | None:
    """One lead as the queue shows it (after an action on its row)."""
    return Lead.objects.prefetch_related(_open_clocks(user)).filter(pk=lead_id).first()


def follow_ups_due(user, *, now: datetime, tz: str) -> QuerySet[Obligation]:
    """Open follow-up attempts owed by `user` that fall due before the end of today."""
    _, end = local_day(now, tz)
    return (
        Obligation.objects.filter(
            user=user, status=Status.OPEN, kind=Commitment.Kind.FOLLOW_UP, due_at__lt=end
        )
        .select_related("lead")
        .order_by("due_at")
    )


def unassigned_leads(teams: list[Team]) -> QuerySet[Lead]:
    return (
        Lead.objects.filter(sales_team__in=teams, owner__isnull=True, handed_off_at__isnull=False)
        .exclude(stage__in=CLOSED_STAGES)
        .order_by("handed_off_at", "id")
    )


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
