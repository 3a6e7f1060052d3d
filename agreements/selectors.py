"""Reads on agreements: the terms in force (now or at a given time) and who may act for
which team."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from agreements.batch import once
from agreements.models import AgreementVersion, Commitment, Membership, Team


def is_manager(user: AbstractBaseUser, team: Team) -> bool:
    return Membership.objects.filter(team=team, user=user, role=Membership.Role.MANAGER).exists()


def manager_sides(user: AbstractBaseUser, agreement) -> set[str]:
    """The sides of `agreement` ("marketing", "sales") that `user` manages."""
    return set(
        Membership.objects.filter(
            user=user,
            role=Membership.Role.MANAGER,
            team__in=[agreement.marketing_team_id, agreement.sales_team_id],
        ).values_list("team__side", flat=True)
    )


def require_agreement_manager(user: AbstractBaseUser, agreement) -> None:
    """Changing an agreement (drafts, commitments, goals) is for staff and the managers of
    either of its teams; signing stays per side (`agreement_version_sign`)."""
    from django.core.exceptions import PermissionDenied

    if not (user.is_staff or manager_sides(user, agreement)):
        raise PermissionDenied("Only a manager of either team changes the agreement.")


def user_team_ids(user: AbstractBaseUser) -> set[int]:
    return set(Membership.objects.filter(user=user).values_list("team_id", flat=True))


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
