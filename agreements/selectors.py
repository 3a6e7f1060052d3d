"""Reads on agreements: the terms in force (now or at a given time) and who may act for
which team."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from agreements import access
from agreements.batch import once
from agreements.models import Agreement, AgreementVersion, Commitment, Membership, Side, Team

# Who may act for which team: agreements.access (re-exported for the many callers).
is_manager = access.is_manager
manager_sides = access.manager_sides
require_agreement_manager = access.require_agreement_manager


def user_team_ids(user: AbstractBaseUser) -> set[int]:
    return access.own_team_ids(user)


def active_version_for_sales_team(team_id: int) -> AgreementVersion | None:
    """The active version of the agreement whose sales side is this team (the newest one if
    the team has agreements with several marketing teams)."""
    return once(
        ("active_version", team_id),
        lambda: (
            AgreementVersion.objects.filter(
                agreement__sales_team_id=team_id, status=AgreementVersion.Status.ACTIVE
            )
            .select_related("agreement__calendar", "agreement__sales_team__calendar")
            .order_by("-activated_at")
            .first()
        ),
    )


def signed_versions_of_sales_team(team_id: int) -> list[AgreementVersion]:
    """Every signed version of the agreements whose sales side is this team, with its span
    (effective_at … ended_at); one query, remembered for a batch (a bulk import picks the
    terms of each lead's hand-off time from this list in Python)."""
    return once(
        ("signed_versions", team_id),
        lambda: list(
            AgreementVersion.objects.filter(
                agreement__sales_team_id=team_id,
                status__in=AgreementVersion.SIGNED_STATUSES,
                effective_at__isnull=False,
            )
            .select_related("agreement__calendar", "agreement__sales_team__calendar")
            .order_by("effective_at", "number")
        ),
    )


def in_force(versions, at: datetime) -> AgreementVersion | None:
    """Of `versions`, the one in force at `at`: signed, effective at or before `at`, not
    ended by then; the latest effective one wins (a version scheduled for `at` is in force
    even before the periodic check has marked it active)."""
    candidates = [v for v in versions if v.in_force_at(at)]
    return max(candidates, key=lambda v: (v.effective_at, v.number), default=None)


def version_in_force(
    *, at: datetime, sales_team_id: int | None = None, agreement=None
) -> AgreementVersion | None:
    """The version whose terms were in force at `at`, for a sales team (its agreements'
    versions) or for one agreement."""
    if agreement is not None:
        return in_force(signed_versions_of_agreement(agreement), at)
    return in_force(signed_versions_of_sales_team(sales_team_id), at)


def signed_versions_of_agreement(agreement) -> list[AgreementVersion]:
    agreement_id = getattr(agreement, "pk", agreement)
    return once(
        ("signed_versions_of_agreement", agreement_id),
        lambda: list(
            AgreementVersion.objects.filter(
                agreement_id=agreement_id,
                status__in=AgreementVersion.SIGNED_STATUSES,
                effective_at__isnull=False,
            ).order_by("effective_at", "number")
        ),
    )


def active_versions() -> QuerySet[AgreementVersion]:
    return AgreementVersion.objects.filter(status=AgreementVersion.Status.ACTIVE).select_related(
        "agreement__calendar", "agreement__marketing_team", "agreement__sales_team"
    )


def commitments_in_order(version: AgreementVersion, kinds) -> list[Commitment]:
    return once(
        ("commitments", version.pk, tuple(kinds)),
        lambda: list(version.commitments.filter(kind__in=kinds).order_by("kind", "order", "id")),
    )


# Who is who -------------------------------------------------------------------------------


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


def agreements_of(teams: list[Team]) -> QuerySet[Agreement]:
    return (
        Agreement.objects.filter(Q(marketing_team__in=teams) | Q(sales_team__in=teams))
        .select_related("calendar", "marketing_team", "sales_team")
        .distinct()
    )


def active_version(agreement: Agreement) -> AgreementVersion | None:
    return agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first()


def open_action_items_of(user) -> QuerySet:
    """Review action items the user owns and has not marked done, the earliest due first."""
    from agreements.models import ActionItem

    return (
        ActionItem.objects.filter(owner_id=user.pk, done_at__isnull=True)
        .select_related("review__agreement")
        .order_by("due_on", "id")
    )
