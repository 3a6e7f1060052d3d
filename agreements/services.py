"""Writes on agreements: drafting, proposing, signing and bringing versions into force."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

import audit
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import (
    Agreement,
    AgreementVersion,
    Commitment,
    Membership,
    Side,
    Signature,
)
from agreements.quota_calculator import STAGES, QuotaInputs, assumptions_text, reverse_funnel
from agreements.selectors import is_manager
from slahub.limits import check_text

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


def _inherited_clause(version: AgreementVersion, kind: str, applies_to) -> uuid.UUID | None:
    """The clause a new commitment of a draft continues: that of a commitment of the same
    kind and the same `applies_to` in the version the draft was made from, whose clause the
    draft does not hold yet (so removing a commitment and adding it back keeps its history)."""
    previous = (
        Commitment.objects.filter(
            version__agreement_id=version.agreement_id, version__number=version.number - 1
        )
        .filter(kind=kind)
        .exclude(clause__in=version.commitments.values("clause"))
        .order_by("order", "id")
    )
    for candidate in previous:
        if candidate.applies_to == (applies_to or {}):
            return candidate.clause
    return None


def _check_clause(version: AgreementVersion, clause, kind: str) -> None:
    """An explicit clause must be one of this agreement's, of the same kind, not yet in the
    draft."""
    same = Commitment.objects.filter(version__agreement_id=version.agreement_id, clause=clause)
    if not same.exists():
        raise ValidationError({"clause": "No commitment of this agreement has this clause."})
    if same.exclude(kind=kind).exists():
        raise ValidationError({"clause": "A clause keeps its kind across versions."})
    if version.commitments.filter(clause=clause).exists():
        raise ValidationError({"clause": "This version already holds this clause."})


def _new_place(version: AgreementVersion, kind: str, applies_to) -> int:
    """Where a new commitment is checked among its kind's: last, except that a targeted one
    goes before the first that matches every lead (after it, it could never apply). The
    kind's later commitments move down one place."""
    siblings = list(version.commitments.filter(kind=kind).order_by("order", "id"))
    place = len(siblings)
    if applies_to:
        place = next((i for i, c in enumerate(siblings) if not c.applies_to), place)
    moved = []
    for order, sibling in enumerate(siblings):
        if sibling.order != order + (order >= place):
            sibling.order = order + (order >= place)
            moved.append(sibling)
    if moved:  # appending after well-numbered siblings writes nothing
        Commitment.objects.bulk_update(moved, ["order"])
    return place


@transaction.atomic
def commitment_create(*, version: AgreementVersion, clause=None, **fields) -> Commitment:
    """Add a commitment to a draft. It continues a clause of the previous version when it has
    the same kind and `applies_to` (or the `clause` given), else it starts a new clause."""
    if version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError("Only a draft version's commitments can change.")
    if clause is not None:
        _check_clause(version, clause, fields.get("kind", ""))
    else:
        clause = _inherited_clause(version, fields.get("kind", ""), fields.get("applies_to"))
    if "order" not in fields:
        fields["order"] = _new_place(version, fields.get("kind", ""), fields.get("applies_to"))
    commitment = Commitment(version=version, **fields)
    if clause is not None:
        commitment.clause = clause
    commitment.full_clean()
    commitment.save()
    audit.record("commitment.create", commitment, changes={**fields, "version": version.pk})
    return commitment


@transaction.atomic
def commitment_update(*, commitment: Commitment, **fields) -> Commitment:
    """Change a draft's commitment; it keeps its clause (an amendment of the same promise)."""
    if commitment.version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError("Only a draft version's commitments can change.")
    unknown = set(fields) - set(COMMITMENT_FIELDS)
    if unknown:
        raise ValidationError(f"Not a commitment field: {', '.join(sorted(unknown))}.")
    if "kind" in fields and fields["kind"] != commitment.kind:
        raise ValidationError({"kind": "A commitment keeps its kind; add a new one instead."})
    for name, value in fields.items():
        setattr(commitment, name, value)
    commitment.full_clean()
    commitment.save()
    audit.record(
        "commitment.update", commitment, changes={**fields, "version": commitment.version_id}
    )
    return commitment


@transaction.atomic
def commitment_move(*, commitment: Commitment, by: int) -> Commitment:
    """Move a draft's commitment `by` places (-1: earlier, 1: later) among the commitments of
    its kind. Within a kind the first whose targeting matches a lead applies, so the order is
    part of the terms. The kind's commitments are numbered 0, 1, 2… afterwards."""
    version = commitment.version
    if version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError("Only a draft version's commitments can change.")
    siblings = list(
        version.commitments.select_for_update().filter(kind=commitment.kind).order_by("order", "id")
    )
    place = next(i for i, c in enumerate(siblings) if c.pk == commitment.pk)
    target = min(max(place + by, 0), len(siblings) - 1)
    siblings.insert(target, siblings.pop(place))
    for order, sibling in enumerate(siblings):
        sibling.order = order
    Commitment.objects.bulk_update(siblings, ["order"])
    moved = siblings[target]
    audit.record("commitment.move", moved, changes={"order": moved.order, "from": place})
    return moved


@transaction.atomic
def commitment_delete(*, commitment: Commitment) -> None:
    """Take a commitment out of a draft (a version proposed or in force stays as signed)."""
    if commitment.version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError("Only a draft version's commitments can change.")
    audit.record(
        "commitment.delete",
        commitment,
        changes={"kind": commitment.kind, "version": commitment.version_id},
    )
    commitment.delete()


_UNFINISHED = (
    AgreementVersion.Status.DRAFT,
    AgreementVersion.Status.PROPOSED,
    AgreementVersion.Status.SCHEDULED,
)


@transaction.atomic
def agreement_version_draft(
    *, agreement: Agreement, user: AbstractBaseUser | None = None, summary: str = ""
) -> AgreementVersion:
    """A new draft version, starting from a copy of the newest version's commitments (each
    copy keeps its clause)."""
    summary = check_text("summary", summary)
    latest = agreement.versions.order_by("-number").first()
    if latest and latest.status in _UNFINISHED:
        raise ValidationError(f"Version {latest.number} is still {latest.status}; finish it first.")
    version = AgreementVersion.objects.create(
        agreement=agreement,
        number=(latest.number + 1) if latest else 1,
        created_by=user,
        summary=summary,
    )
    if latest:
        Commitment.objects.bulk_create(
            Commitment(
                version=version, clause=c.clause, **{f: getattr(c, f) for f in COMMITMENT_FIELDS}
            )
            for c in latest.commitments.all()
        )
    audit.record("version.draft", version, user=user, changes={"summary": summary})
    return version


def _check_effective_from(
    version: AgreementVersion,
    *,
    effective_from: datetime | None,
    reason: str,
    user: AbstractBaseUser | None,
    now: datetime,
) -> None:
    """A chosen start later than now is anyone's choice; an earlier one (a backfill, when an
    agreement is onboarded with its history) is staff's, with the reason recorded, and never
    before the start of the terms it replaces."""
    if effective_from is None or effective_from > now:
        return
    if user is None or not user.is_staff:
        raise ValidationError(
            {"effective_from": "Only staff may date terms before they are signed (a backfill)."}
        )
    if not reason.strip():
        raise ValidationError({"effective_reason": "Say why the terms start in the past."})
    current = (
        AgreementVersion.objects.filter(
            agreement_id=version.agreement_id,
            status__in=AgreementVersion.SIGNED_STATUSES,
            effective_at__isnull=False,
        )
        .order_by("-effective_at")
        .first()
    )
    if current is not None and effective_from <= current.effective_at:
        raise ValidationError(
            {
                "effective_from": f"Version {current.number} is in force from "
                f"{current.effective_at:%Y-%m-%d %H:%M}; the new terms must start later."
            }
        )


@transaction.atomic
def agreement_version_propose(
    *,
    version: AgreementVersion,
    now: datetime,
    user: AbstractBaseUser | None = None,
    effective_from: datetime | None = None,
    effective_reason: str = "",
    applies_to_running_periods: bool = False,
) -> AgreementVersion:
    """Propose a draft for signature, with when its terms start: when the second side signs
    (no `effective_from`), at a later chosen time, or, for a backfill by staff, at an
    earlier one (with `effective_reason`). `applies_to_running_periods` makes the quota
    periods already running when it comes into force count under its terms too."""
    if version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError(f"Only a draft can be proposed; this version is {version.status}.")
    effective_reason = check_text("effective_reason", effective_reason)
    if not version.commitments.exists():
        raise ValidationError("A version needs at least one commitment before it is proposed.")
    _check_effective_from(
        version, effective_from=effective_from, reason=effective_reason, user=user, now=now
    )
    version.status = AgreementVersion.Status.PROPOSED
    version.proposed_at = now
    version.effective_from = effective_from
    version.effective_reason = effective_reason.strip() if effective_from else ""
    version.effective_set_by = user if effective_from else None
    version.applies_to_running_periods = applies_to_running_periods
    version.save(
        update_fields=[
            "status",
            "proposed_at",
            "effective_from",
            "effective_reason",
            "effective_set_by",
            "applies_to_running_periods",
        ]
    )
    audit.record("version.propose", version, user=user, changes={"from": effective_from})
    _tell_signers(version, proposer=user, now=now)
    return version


def _tell_signers(version: AgreementVersion, *, proposer, now: datetime) -> None:
    """Email the managers of the side(s) the proposer does not manage that a signature
    awaits them (their home page shows it too). The outbox row commits with the proposal."""
    from agreements.access import manager_sides
    from agreements.diff import changes_in_words
    from alerts.content import absolute, person, render
    from alerts.services import Notice, queue

    if proposer is None:  # a version put in force by a script or a data load tells nobody
        return
    agreement = version.agreement
    own = manager_sides(proposer, agreement)
    teams = {Side.MARKETING: agreement.marketing_team_id, Side.SALES: agreement.sales_team_id}
    others = [team for side, team in teams.items() if side not in own]
    user_ids = list(
        Membership.objects.filter(team_id__in=others, role=Membership.Role.MANAGER)
        .exclude(user=proposer)
        .values_list("user_id", flat=True)
    )
    if not user_ids:
        return
    in_force = agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first()
    old = list(in_force.commitments.all()) if in_force else []
    lines = changes_in_words(old, list(version.commitments.all()))

    def build(user, tz):
        return render(
            "proposal",
            {
                "recipient_name": person(user),
                "agreement": agreement.name,
                "number": version.number,
                "summary": version.summary,
                "proposer": person(proposer),
                "in_force": in_force.number if in_force else None,
                "lines": lines,
                "effective_from": version.effective_from.astimezone(tz).strftime(
                    "%a %d %b %Y, %H:%M %Z"
                )
                if version.effective_from
                else "",
                "url": absolute("agreement-detail", agreement.pk) + "#pending-version",
            },
        )

    queue(
        [
            Notice(
                event="proposal",
                key=f"proposal:{version.pk}:{now.isoformat()}",
                user_ids=user_ids,
                build=build,
            )
        ],
        now=now,
    )


@transaction.atomic
def agreement_version_reopen(
    *, version: AgreementVersion, user: AbstractBaseUser, now: datetime, reason: str = ""
) -> AgreementVersion:
    """Take a proposed version back to draft to change it: any signature it had is void
    (the terms signed are no longer the terms), and both sides sign again after the change."""
    from agreements.access import require_agreement_manager

    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    require_agreement_manager(user, version.agreement)
    if version.status != AgreementVersion.Status.PROPOSED:
        raise ValidationError(
            f"Only a proposed version goes back to draft; this one is {version.status}."
        )
    voided = [
        {"side": s.side, "user": s.user.get_username(), "signed_at": s.signed_at}
        for s in version.signatures.select_related("user")
    ]
    version.signatures.all().delete()
    version.status = AgreementVersion.Status.DRAFT
    version.proposed_at = None
    version.save(update_fields=["status", "proposed_at"])
    audit.record(
        "version.reopen",
        version,
        user=user,
        changes={"reason": reason, "voided_signatures": voided, "at": now},
    )
    return version


@transaction.atomic
def term_comment_add(
    *, version: AgreementVersion, clause, user: AbstractBaseUser, body: str, now: datetime
):
    """A remark on one term of a draft or proposed version, by anyone of either side."""
    from agreements.access import can_comment_on_terms
    from agreements.models import TermComment

    agreement = version.agreement
    if not can_comment_on_terms(user, agreement):
        raise PermissionDenied("Only the agreement's teams comment on its terms.")
    if version.status not in (AgreementVersion.Status.DRAFT, AgreementVersion.Status.PROPOSED):
        raise ValidationError("Comments are for terms still being agreed.")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write the comment."})
    if len(body) > 2000:
        raise ValidationError({"body": "Keep a comment to 2,000 characters."})
    known = {c.clause for c in version.commitments.all()}
    in_force = agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first()
    if in_force:
        known |= {c.clause for c in in_force.commitments.all()}
    if clause not in known:
        raise ValidationError({"clause": "No such term in this version or the one in force."})
    own = Membership.objects.filter(
        user=user, team_id__in=[agreement.marketing_team_id, agreement.sales_team_id]
    ).values_list("team__side", flat=True)
    comment = TermComment.objects.create(
        version=version,
        clause=clause,
        author=user,
        side=next(iter(own), ""),
        body=body,
        created_at=now,
    )
    audit.record("term.comment", version, user=user, changes={"clause": clause, "body": body})
    return comment


@transaction.atomic
def lead_volume_from_quota(
    *,
    version: AgreementVersion,
    user: AbstractBaseUser,
    inputs: QuotaInputs,
    stage: str,
    source: str,
    now: datetime,
) -> Commitment:
    """Put the quota calculator's monthly number (`agreements.quota_calculator`) into the
    draft's lead-volume commitment for every lead (the first without `applies_to`, else
    the first), created when the draft has none, and record the assumptions as a comment
    on that term. Managers of either side and staff, on a draft only."""
    from agreements.access import require_agreement_manager

    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    require_agreement_manager(user, version.agreement)
    if version.status != AgreementVersion.Status.DRAFT:
        raise ValidationError(
            f"Version {version.number} is {version.status}: the calculator changes drafts "
            "only (return a proposal to draft first)."
        )
    if stage not in STAGES:
        raise ValidationError({"stage": "Choose MQL, SAL or SQL."})
    try:
        result = reverse_funnel(inputs)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    target = result.per_month(stage)
    volumes = sorted(
        version.commitments.filter(kind="lead_volume"), key=lambda c: (bool(c.applies_to), c.order)
    )
    fields = {"target": target, "stage": stage, "period": "month"}
    if volumes:
        commitment = commitment_update(commitment=volumes[0], **fields)
    else:
        commitment = commitment_create(version=version, kind="lead_volume", **fields)
    term_comment_add(
        version=version,
        clause=commitment.clause,
        user=user,
        body=assumptions_text(inputs, result, stage=stage, source=source),
        now=now,
    )
    return commitment


@transaction.atomic
def agreement_version_sign(
    *, version: AgreementVersion, user: AbstractBaseUser, now: datetime, side: str | None = None
) -> Signature:
    """A manager signs the proposed version for their side; the second side's signature
    puts it in force (now, at its backfilled date) or schedules it (a later chosen date)."""
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
        chosen = version.effective_from
        if chosen is not None and chosen > now:
            version.status = AgreementVersion.Status.SCHEDULED
            version.effective_at = chosen
            version.save(update_fields=["status", "effective_at"])
        else:
            # A chosen date passed while waiting for the signature counts from now; only a
            # backfill (staff, with a reason) reaches back.
            backfill = chosen is not None and version.effective_reason
            version.effective_at = chosen if backfill else now
            version.save(update_fields=["effective_at"])
            agreement_version_activate(version=version, now=now)
    audit.record("version.sign", version, user=user, changes={"side": signature.side})
    return signature


@transaction.atomic
def agreement_version_activate(*, version: AgreementVersion, now: datetime) -> AgreementVersion:
    """Make a version signed by both sides the active one, from its effective date; the
    previous active version ends at that date. A version scheduled for later waits."""
    sides = set(version.signatures.values_list("side", flat=True))
    if sides != {Side.MARKETING, Side.SALES}:
        raise ValidationError("A version becomes active only once both sides have signed it.")
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == AgreementVersion.Status.ACTIVE:
        return version
    if version.effective_at is None:
        version.effective_at = now
    if version.effective_at > now:
        raise ValidationError(
            f"Version {version.number} comes into force on "
            f"{version.effective_at:%Y-%m-%d %H:%M}, as both sides signed."
        )
    AgreementVersion.objects.filter(
        agreement=version.agreement_id, status=AgreementVersion.Status.ACTIVE
    ).update(status=AgreementVersion.Status.SUPERSEDED, ended_at=version.effective_at)
    version.status = AgreementVersion.Status.ACTIVE
    version.activated_at = now
    version.save(update_fields=["status", "activated_at", "effective_at"])
    audit.record("version.activate", version, changes={"effective_at": version.effective_at})
    return version


def agreement_versions_activate_due(*, now: datetime) -> int:
    """Put in force the scheduled versions whose date has come (idempotent: a version
    already active, or claimed by another check, is left alone). Returns how many."""
    activated = 0
    due = AgreementVersion.objects.filter(
        status=AgreementVersion.Status.SCHEDULED, effective_at__lte=now
    ).order_by("effective_at")
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            version = (
                AgreementVersion.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=AgreementVersion.Status.SCHEDULED)
                .first()
            )
            if version is not None:
                agreement_version_activate(version=version, now=now)
                activated += 1
    return activated


@transaction.atomic
def agreement_version_retire(*, version: AgreementVersion, now: datetime) -> AgreementVersion:
    """End the terms in force now, or call off a version scheduled for later (it never
    comes into force)."""
    version = AgreementVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == AgreementVersion.Status.SCHEDULED and version.effective_at <= now:
        version = agreement_version_activate(version=version, now=now)
    if version.status == AgreementVersion.Status.SCHEDULED:
        version.status = AgreementVersion.Status.RETIRED
        version.ended_at = version.effective_at
        version.save(update_fields=["status", "ended_at"])
        audit.record("version.retire", version, changes={"scheduled": True})
        return version
    if version.status != AgreementVersion.Status.ACTIVE:
        raise ValidationError("Only the active or a scheduled version can be retired.")
    version.status = AgreementVersion.Status.RETIRED
    version.ended_at = now
    version.save(update_fields=["status", "ended_at"])
    audit.record("version.retire", version, changes={"ended_at": now})
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
    audit.record("membership.remove", membership, changes={"user": user.get_username()})
    membership.delete()


@transaction.atomic
def membership_set(*, team, user: AbstractBaseUser, role: str) -> Membership:
    """Add `user` to `team` or change his role. The last manager cannot step down: name
    another one first (a team always has somebody who signs and answers for it)."""
    current = Membership.objects.select_for_update().filter(team=team, user=user).first()
    if current is not None and current.role == Membership.Role.MANAGER and role != current.role:
        managers = Membership.objects.select_for_update().filter(
            team=team, role=Membership.Role.MANAGER
        )
        if managers.count() == 1:
            raise ValidationError(f"{user} is the last manager of {team}: name another one first.")
    membership, _ = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    audit.record("membership.set", membership, changes={"user": user.get_username(), "role": role})
    return membership


def membership_change_role(*, user, team, member, role: str) -> Membership:
    """`user` (staff or a manager of `team`) makes a member a manager or a plain member; the
    last manager stays one (`membership_set`)."""
    from agreements import access

    if not access.can_change_members(user, team):
        raise PermissionDenied("Only a manager of this team changes its members' roles.")
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose member or manager."})
    if not Membership.objects.filter(team=team, user=member).exists():
        raise ValidationError(f"{member} is not in {team}.")
    return membership_set(team=team, user=member, role=role)
