"""Follow-up cadence, disposition, first-match-wins and reassignment, end to end through
the services, with instants worked out by hand on a Mon–Fri 09:00–17:00 Berlin calendar."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agreements.errors import ValidationError
from leads import checks, services
from leads.models import Breach, Obligation
from tests.factories import LONG_AGO, activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
OPEN, MET, BREACHED, CANCELLED = "open", "met", "breached", "cancelled"


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def touch(lead, at, user, outcome="attempted"):
    return services.activity_log(
        lead=lead, kind="call", occurred_at=at, now=at, user=user, outcome=outcome
    )


def clocks_of(lead, kind):
    return list(lead.obligations.filter(kind=kind).order_by("attempt"))


@pytest.fixture
def cadence(org, now):
    add_commitment(org.version, "first_touch", within="PT1H")
    add_commitment(org.version, "follow_up", attempts=3, every="P2D")
    add_commitment(org.version, "disposition", within="P3D")
    activate(org, now=LONG_AGO)
    return org


def test_each_attempt_is_due_every_after_the_previous_touch(cadence):
    handed = berlin(2026, 11, 24, 9, 0)  # Tuesday
    lead = make_lead(cadence, now=handed, handed_off_at=handed)
    touch(lead, berlin(2026, 11, 24, 9, 30), cadence.rep)

    [attempt2] = clocks_of(lead, "follow_up")
    assert (attempt2.attempt, attempt2.status) == (2, OPEN)
    assert attempt2.due_at == berlin(2026, 11, 26, 9, 30)  # Thursday, two working days on

    touch(lead, berlin(2026, 11, 25, 16, 0), cadence.rep)
    attempt2.refresh_from_db()
    assert attempt2.status == MET
    attempt3 = clocks_of(lead, "follow_up")[1]
    assert attempt3.attempt == 3
    assert attempt3.due_at == berlin(2026, 11, 27, 16, 0)  # Wed 16:00 + 2 days = Fri 16:00

    touch(lead, berlin(2026, 11, 27, 10, 0), cadence.rep)
    assert [o.status for o in clocks_of(lead, "follow_up")] == [MET, MET]
    assert len(clocks_of(lead, "follow_up")) == 2  # three touches in all: no fourth clock


def test_a_late_attempt_is_breached_and_the_next_counts_from_when_it_happened(cadence):
    handed = berlin(2026, 11, 23, 9, 0)  # Monday
    lead = make_lead(cadence, now=handed, handed_off_at=handed)
    touch(lead, berlin(2026, 11, 23, 9, 10), cadence.rep)
    [attempt2] = clocks_of(lead, "follow_up")
    assert attempt2.due_at == berlin(2026, 11, 25, 9, 10)  # Wednesday

    late = berlin(2026, 11, 26, 11, 0)  # Thursday, a day late
    touch(lead, late, cadence.rep)

    attempt2.refresh_from_db()
    assert attempt2.status == BREACHED
    assert Breach.objects.get(obligation=attempt2).due_at == berlin(2026, 11, 25, 9, 10)
    attempt3 = clocks_of(lead, "follow_up")[1]
    assert attempt3.due_at == berlin(2026, 11, 30, 11, 0)  # Thu + 2 working days = Monday


def test_a_connected_touch_stops_the_cadence_but_not_the_disposition(cadence):
    handed = berlin(2026, 11, 24, 9, 0)
    lead = make_lead(cadence, now=handed, handed_off_at=handed)
    touch(lead, berlin(2026, 11, 24, 9, 20), cadence.rep)
    touch(lead, berlin(2026, 11, 25, 9, 0), cadence.rep, outcome="connected")

    assert [o.status for o in clocks_of(lead, "follow_up")] == [MET]
    assert clocks_of(lead, "disposition")[0].status == OPEN


def test_disposition_met_by_accept_and_breached_when_missing(cadence):
    handed = berlin(2026, 11, 23, 10, 0)  # Monday
    accepted = make_lead(cadence, now=handed, handed_off_at=handed)
    ignored = make_lead(cadence, now=handed, handed_off_at=handed)
    assert clocks_of(accepted, "disposition")[0].due_at == berlin(2026, 11, 26, 10, 0)

    services.lead_accept(lead=accepted, now=berlin(2026, 11, 25, 12, 0), user=cadence.rep)
    assert clocks_of(accepted, "disposition")[0].status == MET
    accepted.refresh_from_db()
    assert accepted.stage == "sal"

    checks.deadline_scan(now=berlin(2026, 11, 26, 10, 1))
    assert clocks_of(ignored, "disposition")[0].status == BREACHED
    assert clocks_of(ignored, "first_touch")[0].status == BREACHED


def test_rejecting_meets_disposition_and_cancels_the_touch_clocks(cadence):
    handed = berlin(2026, 11, 24, 9, 0)
    lead = make_lead(cadence, now=handed, handed_off_at=handed)
    services.lead_reject(lead=lead, reason="Student", now=berlin(2026, 11, 24, 9, 30))

    assert clocks_of(lead, "disposition")[0].status == MET
    assert clocks_of(lead, "first_touch")[0].status == CANCELLED
    lead.refresh_from_db()
    assert (lead.stage, lead.rejection_reason) == ("rejected", "Student")
    with pytest.raises(ValidationError):
        services.lead_reject(lead=lead, reason="", now=berlin(2026, 11, 24, 9, 31))


def test_conversion_cancels_what_remains(cadence):
    handed = berlin(2026, 11, 24, 9, 0)
    lead = make_lead(cadence, now=handed, handed_off_at=handed)
    touch(lead, berlin(2026, 11, 24, 9, 5), cadence.rep)
    services.lead_set_stage(lead=lead, stage="sql", now=berlin(2026, 11, 24, 11, 0))
    assert set(Obligation.objects.filter(lead=lead).values_list("status", flat=True)) == {
        MET,
        CANCELLED,
    }


def test_first_matching_commitment_wins(org, now):
    add_commitment(org.version, "first_touch", order=1, within="PT15M", applies_to={"tier": "A"})
    add_commitment(org.version, "first_touch", order=2, within="PT1H", applies_to={"min_score": 50})
    add_commitment(org.version, "first_touch", order=3, within="PT4H")
    activate(org, now=now)
    handed = berlin(2026, 11, 25, 10, 0)

    tier_a_high = make_lead(org, now=handed, handed_off_at=handed, tier="A", score=90)
    tier_b_high = make_lead(org, now=handed, handed_off_at=handed, tier="B", score=90)
    tier_b_low = make_lead(org, now=handed, handed_off_at=handed, tier="B", score=10)

    assert tier_a_high.obligations.get().due_at == berlin(2026, 11, 25, 10, 15)
    assert tier_b_high.obligations.get().due_at == berlin(2026, 11, 25, 11, 0)
    assert tier_b_low.obligations.get().due_at == berlin(2026, 11, 25, 14, 0)


def test_reassignment_moves_open_clocks_and_keeps_due_breaches_with_the_old_owner(cadence):
    handed = berlin(2026, 11, 24, 9, 0)
    lead = make_lead(cadence, now=handed, handed_off_at=handed)
    # First touch was due at 10:00; nobody touched the lead; reassigned at 11:00.
    services.lead_reassign(lead=lead, owner=cadence.rep2, now=berlin(2026, 11, 24, 11, 0))

    first_touch = clocks_of(lead, "first_touch")[0]
    assert first_touch.status == BREACHED
    assert Breach.objects.get(obligation=first_touch).user == cadence.rep
    disposition = clocks_of(lead, "disposition")[0]
    assert (disposition.status, disposition.user) == (OPEN, cadence.rep2)

    checks.deadline_scan(now=berlin(2026, 11, 27, 9, 1))
    assert Breach.objects.get(obligation=disposition).user == cadence.rep2


def test_clocks_keep_the_terms_they_started_with(cadence, now):
    from agreements.services import agreement_version_draft

    handed = berlin(2026, 11, 24, 9, 0)
    old = make_lead(cadence, now=handed, handed_off_at=handed)
    v2 = agreement_version_draft(agreement=cadence.agreement)
    v2.commitments.filter(kind="first_touch").update(within="PT2H")
    activate(cadence, now=now, version=v2)  # in force from Wed 25 Nov 10:00

    later = berlin(2026, 11, 25, 11, 0)
    new = make_lead(cadence, now=later, handed_off_at=later)
    # A hand-off recorded now but dated before v2 was in force runs under v1 (PT1H): the
    # terms in force at the hand-off, not the terms of the day it was recorded.
    backdated = make_lead(cadence, now=later, handed_off_at=handed)
    assert clocks_of(old, "first_touch")[0].due_at == berlin(2026, 11, 24, 10, 0)
    assert clocks_of(new, "first_touch")[0].due_at == berlin(2026, 11, 25, 13, 0)
    assert clocks_of(backdated, "first_touch")[0].due_at == berlin(2026, 11, 24, 10, 0)
    assert (old.agreement_version, new.agreement_version) == (cadence.version, v2)
    assert backdated.agreement_version == cadence.version
