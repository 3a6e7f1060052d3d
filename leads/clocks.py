"""Opening and closing a lead's obligations (its running clocks).

Internal to the lead services: callers go through `leads.services`, which hold the rules of
when a clock opens or stops; this module knows how long a clock runs and writes the rows.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from agreements import businesstime
from agreements.batch import once
from agreements.calendars import clock_calendar
from agreements.matching import first_matches
from agreements.models import AgreementVersion, Commitment, Side
from agreements.selectors import commitments_in_order
from leads import events
from leads.models import Breach, Lead, Obligation

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


def matching_commitments(lead: Lead, version: AgreementVersion) -> dict[str, Commitment]:
    return first_matches(commitments_in_order(version, LEAD_KINDS), lead.match_fields())


def open_obligation(
    *,
    lead: Lead,
    commitment: Commitment,
    duration: str,
    start: datetime,
    attempt: int = 1,
    calendar: businesstime.Calendar,
) -> Obligation:
    warn_at, due_at = deadlines(commitment, duration, start, calendar)
    return Obligation.objects.create(
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


def breach_obligations(obligations: list[Obligation], *, now: datetime) -> list[Breach]:
    """Mark these (locked, open, past due) obligations breached and record one breach each.

    The one place a breach is written: the deadline scan, a late touch and a late
    disposition all come here. Attribution is the obligation's team and user at due time.
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
    events.leads_changed(o.lead_id for o in obligations)
    return breaches


def close_obligation(obligation: Obligation, *, at: datetime, now: datetime, activity=None):
    """Meet an open obligation at `at`, or breach it if `at` is past its due time."""
    if at > obligation.due_at:
        return breach_obligations([obligation], now=now)
    obligation.status = Status.MET
    obligation.met_at = at
    obligation.closed_at = now
    obligation.met_by = activity
    obligation.save(update_fields=["status", "met_at", "closed_at", "met_by"])
    return []


def open_lead_obligations(lead: Lead) -> QuerySet[Obligation]:
    return Obligation.objects.filter(lead=lead, status=Status.OPEN)


def cancel_open(lead: Lead, *, kinds=LEAD_KINDS, now: datetime) -> int:
    return (
        open_lead_obligations(lead)
        .filter(kind__in=kinds)
        .update(status=Status.CANCELLED, closed_at=now)
    )


def breach_overdue(lead: Lead, *, now: datetime) -> list[Breach]:
    """Breach this lead's open obligations already past due (before a change of owner)."""
    overdue = list(open_lead_obligations(lead).filter(due_at__lte=now).select_for_update())
    return breach_obligations(overdue, now=now)
