"""Event times within bounds (leads/bounds.py): the supported years, not in the future, not
before the hand-off, and at most the backfill window (SLAHUB_BACKFILL_DAYS, 7 days) back
unless staff give a reason, which is recorded.

Worked by hand on the org's Mon–Fri 09:00–17:00 Berlin calendar, first touch within 4
business hours, disposition within 1 working day. Now is Wednesday 25 Nov 2026 10:00
Berlin, so the window reaches back to Wednesday 18 Nov 10:00.

    old lead:    handed off Mon 16 Nov 09:00 → first touch due Mon 13:00, disposition Tue
                 17 Nov 09:00 — both past, no scan has run.
    recent lead: handed off Mon 23 Nov 09:00 → first touch due Mon 13:00.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from leads import bounds, checks, services
from leads.models import Backfill, Obligation
from tests.factories import LONG_AGO, activate, add_commitment, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


NOW = berlin(2026, 11, 25, 10, 0)
WINDOW_START = berlin(2026, 11, 18, 10, 0)
OLD_HAND_OFF = berlin(2026, 11, 16, 9, 0)
OLD_FIRST_TOUCH_DUE = berlin(2026, 11, 16, 13, 0)
RECENT_HAND_OFF = berlin(2026, 11, 23, 9, 0)


@pytest.fixture
def terms(org):
    add_commitment(org.version, "first_touch", within="PT4H", clock="business")
    add_commitment(org.version, "disposition", within="P1D", clock="business")
    activate(org, now=LONG_AGO)
    return org


@pytest.fixture
def old_lead(terms):
    """Handed off on Monday 16 Nov, recorded then by marketing (the window is from then)."""
    return make_lead(terms, now=OLD_HAND_OFF, handed_off_at=OLD_HAND_OFF, user=terms.marketer)


@pytest.fixture
def recent_lead(terms):
    return make_lead(terms, now=NOW, handed_off_at=RECENT_HAND_OFF, user=terms.marketer)


def first_touch(lead) -> Obligation:
    return lead.obligations.get(kind="first_touch")


def messages(exc_info, field: str) -> str:
    return " ".join(exc_info.value.message_dict[field])


def touch(lead, at, user, now=NOW):
    return services.activity_log(lead=lead, kind="call", occurred_at=at, now=now, user=user)


# The window ---------------------------------------------------------------------------------


def test_the_hand_worked_due_times(old_lead, recent_lead):
    assert first_touch(old_lead).due_at == OLD_FIRST_TOUCH_DUE
    assert old_lead.obligations.get(kind="disposition").due_at == berlin(2026, 11, 17, 9, 0)
    assert first_touch(recent_lead).due_at == berlin(2026, 11, 23, 13, 0)


def test_a_rep_cannot_backdate_a_touch_before_a_missed_due_time_beyond_the_window(terms, old_lead):
    with pytest.raises(ValidationError) as refused:
        touch(old_lead, berlin(2026, 11, 16, 12, 0), terms.rep)  # 9 days back, before due
    assert "more than 7 days back" in messages(refused, "occurred_at")
    assert not old_lead.activities.exists()
    assert first_touch(old_lead).status == "open"
    checks.deadline_scan(now=NOW)
    assert first_touch(old_lead).status == "breached"  # missed at Mon 13:00, as it was


def test_the_window_edge_is_exactly_seven_days(terms, old_lead):
    touch(old_lead, WINDOW_START, terms.rep)  # Wed 18 Nov 10:00: just inside
    with pytest.raises(ValidationError):
        touch(old_lead, berlin(2026, 11, 18, 9, 59), terms.rep)


def test_within_the_window_a_late_logged_touch_counts_when_it_happened(terms, recent_lead):
    # Monday's 12:00 call, logged on Wednesday: inside the window, before the 13:00 due time.
    touch(recent_lead, berlin(2026, 11, 23, 12, 0), terms.rep)
    clock = first_touch(recent_lead)
    assert (clock.status, clock.met_at) == ("met", berlin(2026, 11, 23, 12, 0))


def test_a_rep_cannot_accept_or_reject_beyond_the_window(terms, old_lead):
    with pytest.raises(ValidationError) as accept:
        services.lead_accept(lead=old_lead, at=berlin(2026, 11, 16, 15), now=NOW, user=terms.rep)
    assert "more than 7 days back" in messages(accept, "at")
    with pytest.raises(ValidationError):
        services.lead_reject(
            lead=old_lead, reason="no-budget", at=OLD_HAND_OFF, now=NOW, user=terms.rep
        )
    with pytest.raises(ValidationError):
        services.lead_set_stage(
            lead=old_lead, stage="sql", at=berlin(2026, 11, 17, 8), now=NOW, user=terms.rep
        )
    old_lead.refresh_from_db()
    assert old_lead.accepted_at is None and old_lead.rejected_at is None
    assert old_lead.stage == "mql"


def test_a_hand_off_beyond_the_window_is_refused(terms):
    with pytest.raises(ValidationError) as refused:
        make_lead(terms, now=NOW, handed_off_at=berlin(2026, 11, 18, 9), user=terms.marketer)
    assert "more than 7 days back" in messages(refused, "handed_off_at")


def test_staff_backfill_with_a_reason_and_it_is_recorded(terms, old_lead):
    staff = make_user("ops", is_staff=True)
    with pytest.raises(ValidationError):  # staff, but no reason given
        touch(old_lead, berlin(2026, 11, 16, 12, 0), staff)
    with bounds.backfill("Call log from the dialler outage, ticket OPS-12"):
        activity = touch(old_lead, berlin(2026, 11, 16, 12, 0), staff)
    assert first_touch(old_lead).status == "met"
    record = Backfill.objects.get()
    assert (record.lead, record.field, record.user) == (old_lead, "occurred_at", staff)
    assert (record.occurred_at, record.recorded_at) == (activity.occurred_at, NOW)
    assert record.reason == "Call log from the dialler outage, ticket OPS-12"


def test_a_reason_does_not_help_a_rep(terms, old_lead):
    with bounds.backfill("trust me"), pytest.raises(ValidationError):
        touch(old_lead, berlin(2026, 11, 16, 12, 0), terms.rep)
    assert not Backfill.objects.exists()


def test_the_window_is_a_setting(terms, old_lead, settings):
    settings.SLAHUB_BACKFILL_DAYS = 10
    touch(old_lead, berlin(2026, 11, 16, 12, 0), terms.rep)  # 9 days back, within 10
    assert first_touch(old_lead).status == "met"


# Order and range -----------------------------------------------------------------------------


def test_nothing_before_the_hand_off(terms, recent_lead):
    staff = make_user("ops", is_staff=True)
    with pytest.raises(ValidationError) as refused:
        touch(recent_lead, berlin(2026, 11, 23, 8, 59), terms.rep)
    assert "before the lead's hand-off" in messages(refused, "occurred_at")
    with bounds.backfill("even staff"), pytest.raises(ValidationError):
        services.lead_accept(lead=recent_lead, at=berlin(2026, 11, 20, 9), now=NOW, user=staff)


def test_a_hand_off_again_not_before_the_recycle(terms, recent_lead):
    services.lead_set_stage(
        lead=recent_lead, stage="recycled", at=berlin(2026, 11, 24, 9), now=NOW, user=terms.rep
    )
    with pytest.raises(ValidationError) as refused:
        services.lead_hand_off(
            lead=recent_lead, at=berlin(2026, 11, 24, 8), now=NOW, user=terms.marketer
        )
    assert "before the lead's last stage change" in messages(refused, "handed_off_at")
    services.lead_hand_off(
        lead=recent_lead, at=berlin(2026, 11, 24, 10), now=NOW, user=terms.marketer
    )


def test_not_in_the_future(terms, recent_lead):
    with pytest.raises(ValidationError):
        services.lead_accept(
            lead=recent_lead, at=berlin(2026, 11, 25, 10, 1), now=NOW, user=terms.rep
        )


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
        datetime(3000, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_outside_the_supported_years_even_for_the_system(terms, when):
    # No acting user (the demo replay, a command) skips the window, never the years.
    with pytest.raises(ValidationError) as refused:
        make_lead(terms, now=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), handed_off_at=when)
    assert "between 2000 and 2999" in messages(refused, "handed_off_at")


def test_the_system_may_record_far_back(terms):
    lead = make_lead(terms, now=NOW, handed_off_at=OLD_HAND_OFF)  # no user: skips the window
    assert first_touch(lead).due_at == OLD_FIRST_TOUCH_DUE
