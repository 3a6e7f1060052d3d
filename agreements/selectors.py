"""Reads on agreements: the active terms and who may act for which team."""

from __future__ import annotations

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


def active_versions() -> QuerySet[AgreementVersion]:
    return AgreementVersion.objects.filter(status=AgreementVersion.Status.ACTIVE).select_related(
        "agreement__calendar", "agreement__marketing_team", "agreement__sales_team"
    )


def commitments_in_order(version: AgreementVersion, kinds) -> list[Commitment]:
    return once(
        ("commitments", version.pk, tuple(kinds)),
        lambda: list(version.commitments.filter(kind__in=kinds).order_by("kind", "order", "id")),
    )
