"""Opening and closing a lead's obligations (its running clocks).

Internal to the lead services: callers go through `leads.services`, which hold the rules of
when a clock opens or stops; this module knows how long a clock runs and writes the rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from agreements import businesstime
from agreements.batch import once
from agreements.calendars import clock_calendar
from agreements.matching import first_matches
from agreements.models import AgreementVersion, Commitment, Side
from agreements.selectors import commitments_in_order
from leads import events
from leads.models import Activity, Breach, Lead, Obligation
from leads.selectors import open_obligations_due

Status = Obligation.Status
LEAD_KINDS = Commitment.LEAD_KINDS


def lead_calendar(lead: Lead, version: AgreementVersion, *, around: datetime):
    """Sales clocks run on the sales team's calendar, else the agreement's."""

    def load() -> businesstime.Calendar:
        stored = (lead.sales_team and lead.sales_team.calendar) or version.agreement.calendar
        return clock_calendar(stored, around=around)

    return once(("lead_calendar", lead.sales_team_id, version.agreement_id, around.year), load)


def deadlines(
    commitment: Commitment, duration: str, start: datetime, calendar: businesstime.Calendar
) -> tuple[datetime | None, datetime]:
    """(warn_at, due_at) of a clock of `duration` started at `start` under `commitment`."""
    length = businesstime.ClockDuration.parse(duration)
    due = businesstime.add_duration(calendar, start, length, commitment.clock)
    if not commitment.warn_at_pct:
        return None, due
    share = commitment.warn_at_pct / 100
    if commitment.clock == Commitment.Clock.CALENDAR:
        return start + (due - start) * share, due
    working = businesstime.between(calendar, start, due)
    return businesstime.add(calendar, start, working * share), due


DEFAULT_MIN_GAP = "PT1H"


def min_gap(commitment: Commitment | None) -> timedelta:
    """Elapsed time below which two touches are one attempt (the follow-up's setting)."""
    text = DEFAULT_MIN_GAP if commitment is None else commitment.min_gap
    if not text:
        return timedelta(0)
    length = businesstime.ClockDuration.parse(text)
    return timedelta(days=length.days, seconds=length.seconds)


def attempt_numbers(touches: list[tuple[datetime, int]], gap: timedelta) -> dict[int, int | None]:
    """The attempt each touch (time, id) since the hand-off is: 1 for the first, None for a
    touch inside the minimum `gap` after the previous attempt. Pure: the engine and the
    what-if replay count attempts with this one rule."""
    numbers: dict[int, int | None] = {}
    number, last = 0, None
    for at, pk in sorted(touches):
        counts = last is None or at - last >= gap
        if counts:
            number, last = number + 1, at
        numbers[pk] = number if counts else None
    return numbers


def attempt_of(activity: Activity, lead: Lead, gap: timedelta) -> int | None:
    """Which attempt since the lead's hand-off this touch is (1 = the first touch), or
    None when it falls inside the minimum gap after the previous attempt."""
    rows = Activity.objects.filter(
        lead=lead, occurred_at__gte=lead.handed_off_at, occurred_at__lte=activity.occurred_at
    ).values_list("occurred_at", "pk")
    return attempt_numbers(list(rows), gap).get(activity.pk)


def next_attempt(follow_up: Commitment | None, attempt: int | None) -> int | None:
    """The follow-up attempt a counted touch (attempt `attempt`) opens, if the cadence asks
    for more; the caller checks the lead is still being worked and none is running."""
    if follow_up is None or attempt is None or attempt >= (follow_up.attempts or 0):
        return None
    return attempt + 1


def matching_commitments(lead: Lead, version: AgreementVersion) -> dict[str, Commitment]:
    return first_matches(commitments_in_order(version, LEAD_KINDS), lead.match_fields())


def build_obligation(
    *,
    lead: Lead,
    commitment: Commitment,
    duration: str,
    start: datetime,
    attempt: int = 1,
    calendar: businesstime.Calendar,
) -> Obligation:
    """A sales clock of `duration` from `start` for the lead's team and owner, unsaved."""
    warn_at, due_at = deadlines(commitment, duration, start, calendar)
    return Obligation(
        kind=commitment.kind,
        side=Side.SALES,
        commitment=commitment,
        agreement_version_id=commitment.version_id,
        lead=lead,
        attempt=attempt,
        team_id=lead.sales_team_id,
        user_id=lead.owner_id,
        starts_at=start,
        warn_at=warn_at,
        due_at=due_at,
    )


def open_obligation(**kwargs: Any) -> Obligation:
    """`build_obligation`, saved."""
    obligation = build_obligation(**kwargs)
    obligation.save(force_insert=True)
    return obligation


HAND_OFF_KINDS = (Commitment.Kind.FIRST_TOUCH, Commitment.Kind.DISPOSITION)


def hand_off_clocks(lead: Lead, version: AgreementVersion, *, at: datetime) -> list[Obligation]:
    """The clocks a hand-off at `at` under `version` opens (unsaved): the first matching
    first-touch and disposition commitments, on the lead's calendar, for its sales team and
    owner. The single hand-off and the bulk one both take their clocks from here."""
    calendar = lead_calendar(lead, version, around=at)
    chosen = matching_commitments(lead, version)
    return [
        build_obligation(
            lead=lead,
            commitment=chosen[kind],
            duration=chosen[kind].within,
            start=at,
            calendar=calendar,
        )
        for kind in HAND_OFF_KINDS
        if kind in chosen
    ]


def breach_obligations(obligations: list[Obligation], *, now: datetime) -> list[Breach]:
    """Mark these (locked, open, past due) obligations breached and record one breach each.

    With `breach_due` (the deadline scan's one-statement form of the same rule) the only
    place a breach is written: every event on a lead (which first breaches what fell due
    before it) and a missed quota come here. Attribution is the obligation's team
    and user at due time; the breach's time is the due time, `now` only when it was recorded.
    A missed lead clock stays owed (`done_at` empty) until the touch or decision is made.
    """
    if not obligations:
        return []
    breaches = Breach.objects.bulk_create(
        [
            Breach(
                obligation_id=o.pk,
                kind=o.kind,
                side=o.side,
                team_id=o.team_id,
                user_id=o.user_id,
                lead_id=o.lead_id,
                due_at=o.due_at,
                detected_at=now,
            )
            for o in obligations
        ]
    )
    Obligation.objects.filter(pk__in=[o.pk for o in obligations]).update(
        status=Status.BREACHED, closed_at=now
    )
    for o in obligations:
        o.status, o.closed_at = Status.BREACHED, now
    events.leads_changed(o.lead_id for o in obligations)
    return breaches


# A breach copies these from its clock; every other column takes the model's default.
_FROM_CLOCK = {
    "obligation_id": "id",
    "kind": "kind",
    "side": "side",
    "team_id": "team_id",
    "user_id": "user_id",
    "lead_id": "lead_id",
    "due_at": "due_at",
}


def breach_due(*, now: datetime, limit: int) -> list[Breach]:
    """Claim up to `limit` open lead clocks past due (oldest first, SKIP LOCKED), mark them
    breached and record their breaches: one statement, the same rows and the same rule as
    `breach_obligations`, for the deadline scan. Call inside a transaction."""
    if connection.vendor != "postgresql":  # SQLite (`make run`'s default): one process at a time
        return breach_obligations(
            list(open_obligations_due(now).order_by("due_at")[:limit]), now=now
        )
    claimed = open_obligations_due(now).select_for_update(skip_locked=True, of=("self",))
    claim = claimed.order_by("due_at").values("pk")[:limit]
    claim_sql, claim_params = claim.query.sql_with_params()
    columns, values, params = [], [], []
    for field in Breach._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.attname in _FROM_CLOCK:
            values.append(f"closed.{_FROM_CLOCK[field.attname]}")
        elif field.attname == "detected_at":
            values.append("%s")
            params.append(now)
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    returned = ["id", *_FROM_CLOCK, "detected_at", "status"]
    sql = (
        f"WITH claimed (id) AS ({claim_sql}), "  # nosec B608 # names are code constants, the claim is ORM-compiled, values are params
        "closed AS ("
        " UPDATE leads_obligation AS o SET status = %s, closed_at = %s"
        " FROM claimed WHERE o.id = claimed.id"
        " RETURNING o.id, o.kind, o.side, o.team_id, o.user_id, o.lead_id, o.due_at"
        ") "
        f"INSERT INTO leads_breach ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM closed "
        f"RETURNING {', '.join(returned)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*claim_params, Status.BREACHED, now, *params])
        rows = cursor.fetchall()
    breaches = [Breach(**dict(zip(returned, row, strict=True))) for row in rows]
    events.leads_changed(b.lead_id for b in breaches)
    return breaches


def meet(obligation: Obligation, *, at: datetime, now: datetime, activity=None) -> None:
    """Meet an open obligation that is not past due at `at`."""
    obligation.status = Status.MET
    obligation.met_at = obligation.done_at = at
    obligation.closed_at = now
    obligation.met_by = obligation.done_by = activity
    obligation.save(update_fields=["status", "met_at", "done_at", "closed_at", "met_by", "done_by"])


def open_lead_obligations(lead: Lead) -> QuerySet[Obligation]:
    return Obligation.objects.filter(lead=lead, status=Status.OPEN)


def owed_lead_obligations(lead: Lead) -> QuerySet[Obligation]:
    """The lead's clocks whose touch or decision is still owed: running, or missed and not
    yet done."""
    return Obligation.objects.filter(lead=lead, status__in=Obligation.OWED, done_at__isnull=True)


def breach_overdue(lead: Lead, *, before: datetime, now: datetime) -> list[Breach]:
    """Breach this lead's open clocks that fell due before `before`, as the deadline scan
    would have. Every event on a lead calls this first, so an event at `before` never turns
    an earlier miss into met or cancelled, whether or not the scan has run."""
    overdue = list(open_lead_obligations(lead).filter(due_at__lt=before).select_for_update())
    return breach_obligations(overdue, now=now)


def settle(obligations: QuerySet[Obligation], *, at: datetime, activity=None) -> int:
    """These missed clocks are done (late) or no longer owed from `at`."""
    return obligations.filter(
        status__in=(Status.BREACHED, Status.WAIVED), done_at__isnull=True
    ).update(done_at=at, done_by=activity)


def stop(lead: Lead, *, kinds=LEAD_KINDS, at: datetime, now: datetime, activity=None) -> int:
    """Nothing more is owed on these kinds from `at` (lead rejected, converted, closed,
    handed off again, or connected): running clocks are cancelled, missed ones settled.
    Call `breach_overdue` first: a clock already due at `at` is missed, not cancelled."""
    owed = owed_lead_obligations(lead).filter(kind__in=kinds)
    settle(owed, at=at, activity=activity)
    return owed.filter(status=Status.OPEN).update(
        status=Status.CANCELLED, closed_at=now, done_at=at, done_by=activity
    )
