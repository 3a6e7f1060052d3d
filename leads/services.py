"""Writes on leads. Every change to a lead's clocks goes through one of these functions,
whether it comes from the admin, the API, an import or the browser. `now` is the clock of
the system (when the change is recorded); `at`/`occurred_at` is when it happened."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

import audit
from agreements import access
from agreements.batch import once
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import Commitment, Side, Team
from agreements.selectors import version_in_force
from leads import bounds, clocks, events, rules
from leads.models import (
    CLOSED_STAGES,
    CONVERTED_STAGES,
    LEAD_DATA_FIELDS,
    Activity,
    ActivityUndo,
    Breach,
    BreachComment,
    Lead,
    Obligation,
    RejectionContest,
    Stage,
    StageEvent,
)
from leads.selectors import breach_rights
from slahub.limits import check_text

Kind = Commitment.Kind


def _record_stage(lead: Lead, to_stage: str, *, at: datetime, user=None, note: str = "") -> None:
    if lead.stage == to_stage:
        return
    StageEvent.objects.create(
        lead=lead, from_stage=lead.stage, to_stage=to_stage, occurred_at=at, user=user, note=note
    )
    lead.stage = to_stage
    events.leads_changed([lead.pk])


def default_sales_team() -> Team | None:
    """With exactly one sales team under an active agreement, unrouted leads go there
    (looked up once per batch)."""

    def load() -> Team | None:
        teams = list(
            Team.objects.filter(
                side=Side.SALES, sales_agreements__versions__status="active"
            ).distinct()[:2]
        )
        return teams[0] if len(teams) == 1 else None

    return once(("default_sales_team",), load)


@transaction.atomic
def lead_create(
    *,
    source_system: str = "manual",
    external_id: str,
    now: datetime,
    user: AbstractBaseUser | None = None,
    owner: AbstractBaseUser | None = None,
    sales_team: Team | None = None,
    marketing_team: Team | None = None,
    stage: str = Stage.NEW,
    handed_off_at: datetime | None = None,
    **data: Any,
) -> Lead:
    """Create a lead; with `handed_off_at` it is created already handed off (clocks open)."""
    access.require_owner(sales_team, owner)
    lead = Lead(
        source_system=source_system,
        external_id=external_id,
        owner=owner,
        sales_team=sales_team,
        marketing_team=marketing_team,
        **{k: v for k, v in data.items() if k in LEAD_DATA_FIELDS},
    )
    lead.full_clean()
    lead.save()
    if stage != Stage.NEW:
        _record_stage(lead, stage, at=handed_off_at or now, user=user)
        lead.save(update_fields=["stage"])
    if handed_off_at is not None:
        lead_hand_off(lead=lead, at=handed_off_at, now=now, user=user)
    return lead


@transaction.atomic
def lead_update(*, lead: Lead, data: dict[str, Any]) -> Lead:
    """Change a lead's descriptive fields (not its stage, owner or clocks)."""
    unknown = set(data) - set(LEAD_DATA_FIELDS)
    if unknown:
        raise ValidationError({k: "Cannot be changed here." for k in unknown})
    for key, value in data.items():
        setattr(lead, key, value)
    lead.full_clean()
    lead.save()
    events.leads_changed([lead.pk])
    return lead


@transaction.atomic
def lead_delete(*, leads: Iterable[Lead], now: datetime) -> int:
    """Erase leads with their whole history (stage events, touches, clocks, breaches); the
    reports forget them in the same transaction. Returns the number of leads deleted."""
    ids = sorted(lead.pk for lead in leads)
    with events.leads_deleting(ids, now=now):
        Breach.objects.filter(lead_id__in=ids).delete()  # they protect their clocks
        _, deleted = Lead.objects.filter(pk__in=ids).delete()
    return deleted.get(Lead._meta.label, 0)


HAND_OFF_NOTE = "Handed off to sales"


@transaction.atomic
def lead_hand_off(
    *, lead: Lead, at: datetime | None = None, now: datetime, user=None
) -> list[Obligation]:
    """Marketing hands the lead to sales: the matching commitments' clocks start at `at`.
    The caller's `lead` object shows the hand-off afterwards."""
    Lead.objects.select_for_update().filter(pk=lead.pk).values_list("pk").first()  # lock
    lead.refresh_from_db()
    at = at or now
    if lead.handed_off_at and lead.stage not in (Stage.RECYCLED, Stage.NEW):
        raise ValidationError({"handed_off_at": "This lead has already been handed off."})
    if lead.sales_team_id is None:
        lead.sales_team = default_sales_team()
        if lead.sales_team is None:
            raise ValidationError({"sales_team": "Choose the sales team that receives the lead."})
    bounds.check_event_time(lead, at, now=now, user=user, field="handed_off_at")
    missed: list[Breach] = []
    if lead.handed_off_at:  # a hand-off again (after a recycle): what fell due stays missed
        missed = clocks.breach_overdue(lead, before=at, now=now)
        clocks.stop(lead, at=at, now=now)
    lead.handed_off_at = at
    lead.accepted_at = lead.rejected_at = None
    lead.rejection_reason = ""
    if lead.stage in (Stage.NEW, Stage.RECYCLED):
        _record_stage(lead, Stage.MQL, at=at, user=user, note=HAND_OFF_NOTE)
    else:
        events.leads_changed([lead.pk])  # _record_stage marks it otherwise
    version = version_in_force(sales_team_id=lead.sales_team_id, at=at)
    lead.agreement_version = version
    lead.save()
    opened = [] if version is None else clocks.hand_off_clocks(lead, version, at=at)
    Obligation.objects.bulk_create(opened)
    if missed:
        events.breaches_created(missed, now=now)
    events.lead_handed_off(lead, now=now)
    return opened


@transaction.atomic
def activity_log(
    *,
    lead: Lead,
    kind: str,
    occurred_at: datetime,
    now: datetime,
    user: AbstractBaseUser | None = None,
    outcome: str = Activity.Outcome.ATTEMPTED,
    note: str = "",
    source_system: str = "",
    external_id: str = "",
) -> Activity:
    """Record a touch. Clocks already due before it are missed first; then, if it counts as
    an attempt (not inside the minimum gap after the previous one), it meets the open
    first-touch or attempt clock (or does a missed one late) and opens the next attempt
    `every` after this touch. A connected outcome stops the cadence."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    activity = Activity(
        lead=lead,
        kind=kind,
        outcome=outcome,
        occurred_at=occurred_at,
        user=user,
        note=note,
        source_system=source_system,
        external_id=external_id,
    )
    activity.full_clean()
    if occurred_at > now:
        raise ValidationError({"occurred_at": "A touch cannot be logged in the future."})
    bounds.check_event_time(lead, occurred_at, now=now, user=user, field="occurred_at")
    activity.save()
    events.leads_changed([lead.pk])
    if lead.handed_off_at is None or occurred_at < lead.handed_off_at:
        return activity

    breaches = clocks.breach_overdue(lead, before=occurred_at, now=now)
    version = lead.agreement_version
    follow_up = clocks.matching_commitments(lead, version).get(Kind.FOLLOW_UP) if version else None
    attempt = clocks.attempt_of(activity, lead, clocks.min_gap(follow_up))
    touch_kinds = (Kind.FIRST_TOUCH, Kind.FOLLOW_UP)
    if attempt is not None:
        reached = clocks.owed_lead_obligations(lead).filter(
            kind__in=touch_kinds, attempt__lte=attempt
        )
        for obligation in reached.filter(status=Obligation.Status.OPEN):
            clocks.meet(obligation, at=occurred_at, now=now, activity=activity)
        clocks.settle(reached, at=occurred_at, activity=activity)

    if outcome == Activity.Outcome.CONNECTED:
        clocks.stop(lead, kinds=touch_kinds, at=occurred_at, now=now, activity=activity)
    elif attempt is not None and version and lead.stage not in CLOSED_STAGES + CONVERTED_STAGES:
        already_open = clocks.open_lead_obligations(lead).filter(kind=Kind.FOLLOW_UP).exists()
        following = clocks.next_attempt(follow_up, attempt)
        if following is not None and not already_open:
            clocks.open_obligation(
                lead=lead,
                commitment=follow_up,
                duration=follow_up.every,
                start=occurred_at,
                attempt=following,
                calendar=clocks.lead_calendar(lead, version, around=occurred_at),
            )
    if breaches:
        events.breaches_created(breaches, now=now)
    return activity


UNDO_WINDOW = timedelta(minutes=15)


def can_undo_activity(user, activity: Activity, *, now: datetime, memberships=None) -> bool:
    """Its author within 15 minutes of logging it; a manager of the lead's sales team (or
    staff) at any time."""
    memberships = rules.memberships_of(user) if memberships is None else memberships
    if rules.can_manage_lead(user, activity.lead, memberships):
        return True
    return (
        activity.user_id == user.pk
        and now - activity.created_at <= UNDO_WINDOW
        and rules.can_work_lead(user, activity.lead, memberships)
    )


@transaction.atomic
def activity_undo(*, activity: Activity, user, now: datetime, reason: str = "") -> ActivityUndo:
    """Take back a touch logged by mistake: the clocks it met or stopped run again (and are
    missed at their due time if that has passed), the attempt it started is cancelled, and
    the undo is recorded (who, when, what the touch was). The newest touch first: a later
    touch was counted after this one."""
    lead = Lead.objects.select_for_update().get(pk=activity.lead_id)
    activity = Activity.objects.select_related("lead").get(pk=activity.pk)
    if not can_undo_activity(user, activity, now=now):
        raise PermissionDenied(
            "Only its author, within 15 minutes, or a manager of the lead's sales team "
            "undoes a touch."
        )
    later = lead.activities.filter(occurred_at__gte=activity.occurred_at).exclude(pk=activity.pk)
    if (
        later.filter(occurred_at__gt=activity.occurred_at).exists()
        or later.filter(pk__gt=activity.pk).exists()
    ):
        raise ValidationError("A later touch on this lead counts after this one: undo it first.")
    started = Obligation.objects.filter(
        lead=lead, kind=Kind.FOLLOW_UP, starts_at=activity.occurred_at
    ).exclude(status=Obligation.Status.CANCELLED)
    if started.exclude(status=Obligation.Status.OPEN).exists():
        raise ValidationError(
            "The attempt this touch started has already been decided; it can no longer be "
            "undone (a missed attempt can be disputed instead)."
        )
    started.update(status=Obligation.Status.CANCELLED, closed_at=now, done_at=now)
    done = Obligation.objects.filter(done_by=activity)
    done.filter(status__in=(Obligation.Status.BREACHED, Obligation.Status.WAIVED)).update(
        done_at=None, done_by=None
    )
    done.update(
        status=Obligation.Status.OPEN,
        met_at=None,
        met_by=None,
        done_at=None,
        done_by=None,
        closed_at=None,
    )
    record = ActivityUndo.objects.create(
        lead=lead,
        activity_id=activity.pk,
        kind=activity.kind,
        outcome=activity.outcome,
        occurred_at=activity.occurred_at,
        logged_by_id=activity.user_id,
        logged_at=activity.created_at,
        note=activity.note,
        source_system=activity.source_system,
        external_id=activity.external_id,
        undone_by=user,
        undone_at=now,
        reason=(reason or "").strip()[:300],
    )
    activity.delete()
    events.leads_changed([lead.pk])
    breaches = clocks.breach_overdue(lead, before=now, now=now)
    if breaches:
        events.breaches_created(breaches, now=now)
    audit.record("activity.undo", record, user=user, changes={"reason": record.reason})
    return record


def _disposition(lead: Lead, *, at: datetime, now: datetime) -> list[Breach]:
    """Missed first what fell due before `at`; then the disposition clock is met (or, missed
    already, done late)."""
    breaches = clocks.breach_overdue(lead, before=at, now=now)
    decided = clocks.owed_lead_obligations(lead).filter(kind=Kind.DISPOSITION)
    for obligation in decided.filter(status=Obligation.Status.OPEN):
        clocks.meet(obligation, at=at, now=now)
    clocks.settle(decided, at=at)
    return breaches


def _require_handed_off(lead: Lead) -> None:
    if lead.handed_off_at is None:
        raise ValidationError("The lead has not been handed off to sales yet.")
    if lead.accepted_at or lead.rejected_at:
        raise ValidationError("The lead has already been accepted or rejected.")


@transaction.atomic
def lead_accept(*, lead: Lead, now: datetime, user=None, at: datetime | None = None) -> Lead:
    """Sales accepts the lead (SAL): meets the disposition clock."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    _require_handed_off(lead)
    at = at or now
    bounds.check_event_time(lead, at, now=now, user=user, field="at")
    lead.accepted_at = at
    _record_stage(lead, Stage.SAL, at=at, user=user)
    lead.save()
    breaches = _disposition(lead, at=at, now=now)
    if breaches:
        events.breaches_created(breaches, now=now)
    return lead


def rejection_reason_label(reason: str, *, team_id: int | None) -> str:
    """The configured reason for `reason` (code or label) among those of the lead's sales
    team and those for every team; free text when none is set up."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for rejecting the lead."})
    configured = access.rejection_reasons_for([team_id] if team_id else [])
    if not configured.exists():
        return reason
    match = (
        configured.filter(code=reason).first() or configured.filter(label__iexact=reason).first()
    )
    if match is None:
        choices = ", ".join(configured.values_list("code", flat=True))
        raise ValidationError({"reason": f"Unknown reason {reason!r}; choose one of: {choices}."})
    return match.label


@transaction.atomic
def lead_reject(
    *, lead: Lead, reason: str, now: datetime, user=None, at: datetime | None = None
) -> Lead:
    """Sales rejects the lead with a reason: meets the disposition clock and stops the rest."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    _require_handed_off(lead)
    at = at or now
    bounds.check_event_time(lead, at, now=now, user=user, field="at")
    lead.rejection_reason = rejection_reason_label(reason, team_id=lead.sales_team_id)
    lead.rejected_at = at
    _record_stage(lead, Stage.REJECTED, at=at, user=user, note=lead.rejection_reason)
    lead.save()
    breaches = _disposition(lead, at=at, now=now)
    clocks.stop(lead, at=at, now=now)
    if breaches:
        events.breaches_created(breaches, now=now)
    return lead


@transaction.atomic
def lead_set_stage(
    *, lead: Lead, stage: str, now: datetime, user=None, at: datetime | None = None, note=""
) -> Lead:
    """Move a lead along the funnel. Accepting and rejecting have their own services;
    a conversion (SQL or later) or a close stops the lead's remaining clocks."""
    if stage not in Stage.values:
        raise ValidationError({"stage": f"Unknown stage {stage!r}."})
    if stage == Stage.SAL and lead.handed_off_at and not lead.accepted_at:
        return lead_accept(lead=lead, now=now, user=user, at=at)
    if stage == Stage.REJECTED:
        raise ValidationError({"stage": "Reject a lead with the reject action and a reason."})
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    at = at or now
    bounds.check_event_time(lead, at, now=now, user=user, field="at")
    _record_stage(lead, stage, at=at, user=user, note=note)
    lead.save()
    breaches = clocks.breach_overdue(lead, before=at, now=now)
    if stage in CONVERTED_STAGES + CLOSED_STAGES:
        if stage in CONVERTED_STAGES:
            breaches += _disposition(lead, at=at, now=now)
        clocks.stop(lead, at=at, now=now)
    if breaches:
        events.breaches_created(breaches, now=now)
    return lead


@transaction.atomic
def lead_reassign(*, lead: Lead, owner: AbstractBaseUser | None, now: datetime, user=None) -> Lead:
    """Give the lead a new owner; open clocks move with it. Clocks already past due are
    breached first, so the breach stays with the owner at due time."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    access.require_owner(lead.sales_team_id, owner)
    _move_to_owner([lead.pk], owner, now=now)
    lead.refresh_from_db()
    return lead


def _move_to_owner(lead_ids: list[int], owner, *, now: datetime) -> None:
    """Reassign these (locked) leads, whatever their number, in a fixed number of queries:
    what fell due before `now` is breached under the old owner, open clocks move."""
    overdue = list(
        Obligation.objects.filter(
            lead_id__in=lead_ids, status=Obligation.Status.OPEN, due_at__lt=now
        ).select_for_update()
    )
    breaches = clocks.breach_obligations(overdue, now=now)
    Lead.objects.filter(pk__in=lead_ids).update(owner=owner, updated_at=now)
    Obligation.objects.filter(lead_id__in=lead_ids, status=Obligation.Status.OPEN).update(
        user=owner
    )
    events.leads_changed(lead_ids)
    if breaches:
        events.breaches_created(breaches, now=now)


# Breaches -------------------------------------------------------------------------------


@transaction.atomic
def breach_acknowledge(*, breach: Breach, user, note: str = "", now: datetime) -> Breach:
    note = check_text("note", note)
    if not breach_rights(user, breach)["can_answer"]:
        raise PermissionDenied("Only the breached team acknowledges its breach.")
    if breach.status not in (Breach.Status.OPEN,):
        raise ValidationError(
            f"Only an open breach can be acknowledged; this one is {breach.status}."
        )
    breach.status = Breach.Status.ACKNOWLEDGED
    breach.acknowledged_at, breach.acknowledged_by, breach.acknowledge_note = now, user, note
    breach.save()
    audit.record("breach.acknowledge", breach, user=user, changes={"note": note})
    return breach


@transaction.atomic
def breach_dispute(*, breach: Breach, user, reason: str, now: datetime) -> Breach:
    if not breach_rights(user, breach)["can_answer"]:
        raise PermissionDenied("Only the breached team disputes its breach.")
    reason = check_text("reason", reason)
    if not reason:
        raise ValidationError({"reason": "Say why the breach is disputed."})
    if breach.status not in (Breach.Status.OPEN, Breach.Status.ACKNOWLEDGED):
        raise ValidationError(f"A {breach.status} breach cannot be disputed.")
    breach.status = Breach.Status.DISPUTED
    breach.disputed_at, breach.disputed_by, breach.dispute_reason = now, user, reason
    breach.save()
    audit.record("breach.dispute", breach, user=user, changes={"reason": reason})
    return breach


@transaction.atomic
def breach_resolve(
    *, breach: Breach, user, resolution: str, note: str = "", now: datetime
) -> Breach:
    """The other side's manager decides: the breach stands (upheld) or is waived."""
    if resolution not in Breach.Resolution.values:
        raise ValidationError({"resolution": "Choose upheld or waived."})
    note = check_text("note", note)
    if breach.status == Breach.Status.RESOLVED:
        raise ValidationError("This breach is already resolved.")
    if not breach_rights(user, breach)["can_resolve"]:
        raise PermissionDenied("Only a manager of the other side resolves a breach.")
    breach.status = Breach.Status.RESOLVED
    breach.resolved_at, breach.resolved_by = now, user
    breach.resolution, breach.resolution_note = resolution, note
    breach.save()
    if resolution == Breach.Resolution.WAIVED:
        # A waived miss counts as neither kept nor missed, on every page and export.
        Obligation.objects.filter(pk=breach.obligation_id).update(status=Obligation.Status.WAIVED)
        events.leads_changed([breach.lead_id])
    events.breach_resolved(breach, now=now)
    audit.record("breach.resolve", breach, user=user, changes={"resolution": resolution})
    return breach


@transaction.atomic
def breach_comment(*, breach: Breach, user, body: str) -> BreachComment:
    body = check_text("body", body)
    if not body:
        raise ValidationError({"body": "Write a comment."})
    audit.record("breach.comment", breach, user=user, changes={"comment": body.strip()})
    return BreachComment.objects.create(breach=breach, author=user, body=body.strip())


# Breach triage ---------------------------------------------------------------------------

BULK_MAX = 200


@dataclass
class BulkAcknowledgement:
    """What a bulk acknowledge did: the breaches acknowledged, and why each other was not."""

    acknowledged: list[Breach] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


@transaction.atomic
def breach_acknowledge_many(
    *, breach_ids: Iterable[int], user, note: str = "", now: datetime
) -> BulkAcknowledgement:
    """Acknowledge many breaches with one note, each under the rules of `breach_acknowledge`
    (the breached user or a manager of the breached team, open breaches only); the others
    are reported with the reason. A constant number of queries, whatever the count."""
    note = check_text("note", note)
    ids = list(dict.fromkeys(int(pk) for pk in breach_ids))
    real = [pk for pk in ids if 0 < pk < 2**63]  # others cannot be ids (bigint)
    if not ids:
        raise ValidationError({"breaches": "Choose the breaches to acknowledge."})
    if len(ids) > BULK_MAX:
        raise ValidationError({"breaches": f"Acknowledge at most {BULK_MAX} breaches at a time."})
    memberships = access.memberships_of(user)
    found = {
        b.pk: b
        for b in access.breaches_visible_to(user)
        .filter(pk__in=real)
        .select_related("lead", "team", "obligation__agreement_version__agreement")
        .select_for_update(of=("self",))
    }
    result = BulkAcknowledgement()
    for pk in ids:
        breach = found.get(pk)
        if breach is None:
            result.refused[pk] = "No such breach among those you see."
        elif not access.can_answer_breach(user, breach, memberships):
            result.refused[pk] = "Only the breached team acknowledges its breach."
        elif breach.status != Breach.Status.OPEN:
            result.refused[pk] = (
                f"Only an open breach can be acknowledged; this one is {breach.status}."
            )
        else:
            result.acknowledged.append(breach)
    if not result.acknowledged:
        return result
    Breach.objects.filter(pk__in=[b.pk for b in result.acknowledged]).update(
        status=Breach.Status.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=user,
        acknowledge_note=note,
    )
    for breach in result.acknowledged:
        breach.status = Breach.Status.ACKNOWLEDGED
        breach.acknowledged_at, breach.acknowledged_by, breach.acknowledge_note = now, user, note
    teams = {}
    for breach in result.acknowledged:
        agreement = breach.obligation.agreement_version.agreement
        teams[breach.pk] = [breach.team_id, agreement.marketing_team_id, agreement.sales_team_id]
    audit.record_many(
        "breach.acknowledge", result.acknowledged, user=user, changes={"note": note}, teams=teams
    )
    return result


# Contesting a rejection -------------------------------------------------------------------


def _latest_rejection(lead: Lead) -> StageEvent | None:
    return lead.stage_events.filter(to_stage=Stage.REJECTED).order_by("-occurred_at", "-id").first()


@transaction.atomic
def rejection_contest_open(*, lead: Lead, user, reason: str, now: datetime) -> RejectionContest:
    """Marketing's manager contests the lead's rejection, with a reason; a manager of the
    lead's sales team decides (`rejection_contest_decide`)."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    access.require(
        access.can_contest_rejection(user, lead),
        "Only a manager of the lead's marketing team contests its rejection.",
    )
    reason = check_text("reason", reason)
    if not reason:
        raise ValidationError({"reason": "Say why the rejection is contested."})
    rejection = _latest_rejection(lead)
    if lead.stage != Stage.REJECTED or rejection is None:
        raise ValidationError("Only a rejected lead's rejection can be contested.")
    if RejectionContest.objects.filter(rejection=rejection).exists():
        raise ValidationError("This rejection has already been contested.")
    contest = RejectionContest(
        lead=lead, rejection=rejection, contested_by=user, contested_at=now, reason=reason
    )
    contest.full_clean()
    contest.save()
    audit.record(
        "rejection.contest",
        contest,
        user=user,
        changes={"reason": reason, "lead": lead.pk},
        teams=[lead.sales_team_id, lead.marketing_team_id],
    )
    return contest


def _lead_return(lead: Lead, *, at: datetime, user) -> StageEvent:
    """Back to its rep at `at`, undecided: the clocks the rejection closed while still owed
    (and the decision itself) start again from `at`, under the terms in force at `at`."""
    owed = set(
        Obligation.objects.filter(lead=lead, done_at=lead.rejected_at, done_by__isnull=True)
        .exclude(status=Obligation.Status.MET)
        .values_list("kind", "attempt")
    )
    owed.add((Kind.DISPOSITION, 1))
    event = StageEvent.objects.create(
        lead=lead,
        from_stage=lead.stage,
        to_stage=Stage.MQL,
        occurred_at=at,
        user=user,
        note="Returned to the rep after a contest",
    )
    lead.stage = Stage.MQL
    lead.rejected_at = None
    lead.rejection_reason = ""
    version = version_in_force(sales_team_id=lead.sales_team_id, at=at)
    lead.agreement_version = version
    lead.save()
    if version is not None:
        calendar = clocks.lead_calendar(lead, version, around=at)
        chosen = clocks.matching_commitments(lead, version)
        for kind, attempt in sorted(owed):
            commitment = chosen.get(kind)
            if commitment is None or (kind == Kind.FOLLOW_UP and attempt > commitment.attempts):
                continue
            clocks.open_obligation(
                lead=lead,
                commitment=commitment,
                duration=commitment.every if kind == Kind.FOLLOW_UP else commitment.within,
                start=at,
                attempt=attempt,
                calendar=calendar,
            )
    return event


@transaction.atomic
def rejection_contest_decide(
    *, contest: RejectionContest, user, decision: str, note: str = "", now: datetime
) -> RejectionContest:
    """A manager of the lead's sales team upholds the rejection or returns the lead to its
    rep (`_lead_return`). The acceptance figures take a returned rejection back on the day
    of the decision (docs/metrics.md)."""
    lead = Lead.objects.select_for_update().get(pk=contest.lead_id)
    contest = RejectionContest.objects.select_for_update().get(pk=contest.pk)
    if decision not in RejectionContest.Decision.values:
        raise ValidationError({"decision": "Choose upheld or returned."})
    access.require(
        access.can_decide_contest(user, lead),
        "Only a manager of the lead's sales team decides a contested rejection.",
    )
    note = check_text("note", note)
    if contest.decision:
        raise ValidationError(
            f"This contest has already been decided ({contest.get_decision_display().lower()})."
        )
    if decision == RejectionContest.Decision.RETURNED:
        latest = _latest_rejection(lead)
        if lead.stage != Stage.REJECTED or latest is None or latest.pk != contest.rejection_id:
            raise ValidationError(
                f"The lead has moved on since this rejection (it is {lead.get_stage_display()}): "
                "the rejection can only be upheld."
            )
        contest.return_event = _lead_return(lead, at=now, user=user)
    contest.decision, contest.decided_by, contest.decided_at = decision, user, now
    contest.note = note
    contest.save()
    events.leads_changed([lead.pk])
    audit.record(
        "rejection.decide",
        contest,
        user=user,
        changes={"decision": decision, "note": note, "lead": lead.pk},
        teams=[lead.sales_team_id, lead.marketing_team_id],
    )
    return contest


# From the lead form and the lead list ---------------------------------------------------


@transaction.atomic
def lead_create_as(*, user, now: datetime, hand_off: bool = False, **fields: Any) -> Lead:
    """A lead created by `user` (the lead form): routed only to teams he sees, owned by a
    member of its sales team, and with `hand_off` handed to sales at once."""
    access.require_routing(
        user, sales_team=fields.get("sales_team"), marketing_team=fields.get("marketing_team")
    )
    return lead_create(now=now, user=user, handed_off_at=now if hand_off else None, **fields)


@dataclass
class BulkResult:
    """What a bulk action did to one lead: `done`, or why not (`message`)."""

    lead_id: int
    label: str
    done: bool
    message: str = ""


NOT_FOUND = "No such lead (or not one of yours)."


def _bulk_targets(user, lead_ids: Iterable[int]) -> tuple[list[int], dict[int, Lead]]:
    ids = sorted({int(pk) for pk in lead_ids})
    found = {
        lead.pk: lead
        for lead in access.leads_visible_to(user)
        .filter(pk__in=ids)
        .select_for_update(of=("self",))
        .order_by("pk")
    }
    return ids, found


@transaction.atomic
def leads_bulk_reassign(
    *, user, lead_ids: Iterable[int], owner: AbstractBaseUser | None, now: datetime
) -> list[BulkResult]:
    """Give the chosen leads to `owner` (None: unassign), each as `lead_reassign` would, in
    a fixed number of queries. Per lead: the user must manage it (a manager of its sales
    team, or staff) and the owner be an active member of that team; the others are left
    as they are and reported."""
    ids, found = _bulk_targets(user, lead_ids)
    memberships = access.memberships_of(user)
    owner_teams = set()
    if owner is not None and owner.is_active:
        owner_teams = set(owner.memberships.values_list("team_id", flat=True))
    results, chosen = [], []
    for pk in ids:
        lead = found.get(pk)
        if lead is None:
            results.append(BulkResult(pk, f"#{pk}", False, NOT_FOUND))
        elif not access.can_manage_lead(user, lead, memberships):
            message = "Only a manager of the lead's sales team reassigns it."
            results.append(BulkResult(pk, str(lead), False, message))
        elif owner is not None and lead.sales_team_id not in owner_teams:
            message = "The owner must be a member of the lead's sales team."
            results.append(BulkResult(pk, str(lead), False, message))
        else:
            chosen.append(pk)
            results.append(BulkResult(pk, str(lead), True))
    if chosen:
        _move_to_owner(chosen, owner, now=now)
    return results


@transaction.atomic
def leads_bulk_hand_off(*, user, lead_ids: Iterable[int], now: datetime) -> list[BulkResult]:
    """Hand the chosen leads to sales now, each through `lead_hand_off` in its own
    savepoint (one refused lead never stops the others). Per lead: the user must be on
    either of its teams (or staff), and it must not be handed off already."""
    ids, found = _bulk_targets(user, lead_ids)
    memberships = access.memberships_of(user)
    results = []
    for pk in ids:
        lead = found.get(pk)
        if lead is None:
            results.append(BulkResult(pk, f"#{pk}", False, NOT_FOUND))
            continue
        if not access.can_edit_lead(user, lead, memberships):
            results.append(BulkResult(pk, str(lead), False, "Only the lead's teams hand it off."))
            continue
        try:
            with transaction.atomic():
                lead_hand_off(lead=lead, now=now, user=user)
        except ValidationError as exc:
            results.append(BulkResult(pk, str(lead), False, " ".join(exc.messages)))
            continue
        results.append(BulkResult(pk, str(lead), True))
    return results
