"""Writes on agreements: drafting, proposing, signing and activating versions."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from agreements.errors import PermissionDenied, ValidationError
from agreements.models import (
    Agreement,
    AgreementVersion,
    Commitment,
    Membership,
    Side,
    Signature,
)
from agreements.selectors import is_manager

COMMITMENT_FIELDS = [
    "kind",
    "order",
    "name",
    "applies_to",
    "clock",
    "warn_at_pct",
    "within",
    "attempts",
    "every",
    "min_gap",
    "target",
    "stage",
    "period",
    "min_acceptance_pct",
    "min_sample",
]


def commitment_create(*, version: AgreementVersion, **fields) -> Commitment:
    if version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError("Only a draft version's commitments can change.")
    commitment = Commitment(version=version, **fields)
    commitment.full_clean()
    commitment.save()
    return commitment


def commitment_delete(*, commitment: Commitment) -> None:
    """Take a commitment out of a draft (a version proposed or in force stays as signed)."""
    if commitment.version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError("Only a draft version's commitments can change.")
    commitment.delete()


@transaction.atomic
def agreement_version_draft(
    *, agreement: Agreement, user: AbstractBaseUser | None = None, summary: str = ""
) -> AgreementVersion:
    """A new draft version, starting from a copy of the newest version's commitments."""
    latest = agreement.versions.order_by("-number").first()
    if latest and latest.status in (
        AgreementVersion.Status.DRAFT,
        AgreementVersion.Status.PROPOSED,
    ):
        raise ValidationError(f"Version {latest.number} is still {latest.status}; finish it first.")
    version = AgreementVersion.objects.create(
        agreement=agreement,
        number=(latest.number + 1) if latest else 1,
        created_by=user,
        summary=summary,
    )
    if latest:
        Commitment.objects.bulk_create(
            Commitment(version=version, **{f: getattr(c, f) for f in COMMITMENT_FIELDS})
            for c in latest.commitments.all()
        )
    return version


def agreement_version_propose(*, version: AgreementVersion, now: datetime) -> AgreementVersion:
    if version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError(f"Only a draft can be proposed; this version is {version.status}.")
    if not version.commitments.exists():
        raise ValidationError("A version needs at least one commitment before it is proposed.")
    version.status = AgreementVersion.Status.PROPOSED
    version.proposed_at = now
    version.save(update_fields=["status", "proposed_at"])
    return version


@transaction.atomic
def agreement_version_sign(
    *, version: AgreementVersion, user: AbstractBaseUser, now: datetime, side: str | None = None
) -> Signature:
    """A manager signs the proposed version for their side; the second side's signature
    activates it."""
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != AgreementVersion.Status.PROPOSED:
        raise ValidationError(
            f"Only a proposed version can be signed; this one is {version.status}."
        )
    agreement = version.agreement
    team_of_side = {Side.MARKETING: agreement.marketing_team, Side.SALES: agreement.sales_team}
    sides = [s for s, team in team_of_side.items() if is_manager(user, team)]
    if side:
        sides = [s for s in sides if s == side]
    if not sides:
        raise PermissionDenied("Only a manager of the marketing or sales team signs for its side.")
    signed = set(version.signatures.values_list("side", flat=True))
    unsigned = [s for s in sides if s not in signed]
    if not unsigned:
        raise ValidationError(f"The {sides[0]} side has already signed this version.")
    signature = Signature.objects.create(
        version=version, side=unsigned[0], user=user, signed_at=now
    )
    if signed | {unsigned[0]} == {Side.MARKETING, Side.SALES}:
        agreement_version_activate(version=version, now=now)
    return signature


@transaction.atomic
def agreement_version_activate(*, version: AgreementVersion, now: datetime) -> AgreementVersion:
    """Make a version signed by both sides the active one, superseding the previous."""
    sides = set(version.signatures.values_list("side", flat=True))
    if sides != {Side.MARKETING, Side.SALES}:
        raise ValidationError("A version becomes active only once both sides have signed it.")
    if version.status == AgreementVersion.Status.ACTIVE:
        return version
    AgreementVersion.objects.filter(
        agreement=version.agreement_id, status=AgreementVersion.Status.ACTIVE
    ).update(status=AgreementVersion.Status.SUPERSEDED, ended_at=now)
    version.status = AgreementVersion.Status.ACTIVE
    version.activated_at = now
    version.save(update_fields=["status", "activated_at"])
    return version


def agreement_version_retire(*, version: AgreementVersion, now: datetime) -> AgreementVersion:
    if version.status != AgreementVersion.Status.ACTIVE:
        raise ValidationError("Only the active version can be retired.")
    version.status = AgreementVersion.Status.RETIRED
    version.ended_at = now
    version.save(update_fields=["status", "ended_at"])
    return version


@transaction.atomic
def membership_remove(*, team, user: AbstractBaseUser) -> None:
    """Take `user` out of `team`. The last manager stays: somebody must sign and answer for
    the team. The user's leads keep their owner until a manager reassigns them."""
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    if membership is None:
        raise ValidationError(f"{user} is not in {team}.")
    managers = Membership.objects.select_for_update().filter(
        team=team, role=Membership.Role.MANAGER
    )
    if membership.role == Membership.Role.MANAGER and managers.count() == 1:
        raise ValidationError(f"{user} is the last manager of {team}: name another one first.")
    membership.delete()


def membership_set(*, team, user: AbstractBaseUser, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership
