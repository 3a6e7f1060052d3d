"""What a rep owes stays on his page until it is done; what nobody owes is on the team page;
touches inside the minimum gap are one attempt; a touch can be undone. Berlin calendar
Mon–Fri 09:00–17:00, instants worked out by hand."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements.errors import PermissionDenied, ValidationError
from agreements.models import Membership
from leads import checks, services
from leads.models import ActivityUndo, Obligation
from leads.selectors import leads_nobody_owes, queue_leads
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


MON_9 = berlin(2026, 11, 23, 9, 0)  # hand-offs: first touch due 10:00, disposition Tue 09:00


@pytest.fixture
def terms(org):
    add_commitment(org.version, "first_touch", within="PT1H")
    add_commitment(org.version, "follow_up", attempts=3, every="P1D")
    add_commitment(org.version, "disposition", within="P1D")
    activate(org, now=berlin(2026, 11, 1))
    return org


def touch(lead, at, user, outcome="attempted", now=None):
    return services.activity_log(
        lead=lead, kind="call", occurred_at=at, now=now or at, user=user, outcome=outcome
    )


def queue_names(user) -> list[str]:
    return [lead.name for lead in queue_leads(user)]


# The queue ---------------------------------------------------------------------------------


def test_a_missed_clock_stays_in_the_queue_until_the_touch_is_made(terms):
    late = make_lead(terms, now=MON_9, handed_off_at=MON_9, name="Late")
    at_10 = berlin(2026, 11, 23, 10, 0)
    make_lead(terms, now=at_10, handed_off_at=at_10, name="Fresh")  # first touch due 11:00
    checks.deadline_scan(now=berlin(2026, 11, 23, 10, 30))
    assert late.obligations.get(kind="first_touch").status == "breached"

    # Still owed: on top (overdue since 10:00), then the running one (due 11:00).
    assert queue_names(terms.rep) == ["Late", "Fresh"]
    [row] = [lead for lead in queue_leads(terms.rep) if lead.name == "Late"]
    assert [(o.kind, o.status) for o in row.open_clocks] == [
        ("first_touch", "breached"),
        ("disposition", "open"),
    ]

    touch(late, berlin(2026, 11, 23, 10, 45), terms.rep)  # done, late
    first = late.obligations.get(kind="first_touch")
    assert (first.status, first.done_at) == ("breached", berlin(2026, 11, 23, 10, 45))
    # Late stays for its disposition (due Tue 09:00) and attempt 2 (due Tue 10:45).
    [row] = [lead for lead in queue_leads(terms.rep) if lead.name == "Late"]
    assert [(o.kind, o.attempt) for o in row.open_clocks] == [("disposition", 1), ("follow_up", 2)]

    services.lead_reject(lead=late, reason="No budget", now=berlin(2026, 11, 23, 11, 0))
    assert queue_names(terms.rep) == ["Fresh"]  # nothing owed on Late any more


def test_a_missed_decision_stays_owed_until_the_lead_is_decided(terms):
    lead = make_lead(terms, now=MON_9, handed_off_at=MON_9, name="Undecided")
    touch(lead, berlin(2026, 11, 23, 9, 30), terms.rep, outcome="connected")
    checks.deadline_scan(now=berlin(2026, 11, 24, 9, 30))  # disposition missed Tue 09:00

    [row] = queue_leads(terms.rep)
    assert [(o.kind, o.status) for o in row.open_clocks] == [("disposition", "breached")]
    services.lead_accept(lead=lead, now=berlin(2026, 11, 24, 10, 0))
    assert queue_names(terms.rep) == []


def test_a_lead_assigned_after_its_deadline_appears_in_the_new_owners_queue(client, terms):
    lead = make_lead(terms, now=MON_9, handed_off_at=MON_9, owner=None, name="Unowned")
    assert list(leads_nobody_owes([terms.sales])) == [lead]

    at = berlin(2026, 11, 23, 11, 0)  # the first touch fell due at 10:00 with nobody on it
    services.lead_reassign(lead=lead, owner=terms.rep2, now=at)
    breach = lead.breaches.get()
    assert (breach.kind, breach.user, breach.due_at) == (
        "first_touch",
        None,
        berlin(2026, 11, 23, 10),
    )

    assert queue_names(terms.rep2) == ["Unowned"]
    assert list(leads_nobody_owes([terms.sales])) == []
    client.force_login(terms.rep2)
    with time_machine.travel(at, tick=False):
        page = client.get(reverse("queue")).content.decode()
    assert "Missed — still owed" in page
    assert "overdue by 1h 0m" in page


def test_the_team_page_lists_the_leads_nobody_owes_with_their_age(client, terms):
    gone = make_lead(terms, now=MON_9, handed_off_at=MON_9, owner=terms.rep2, name="Left")
    make_lead(terms, now=MON_9, handed_off_at=MON_9, owner=terms.rep, name="Owned")
    nobody = make_lead(terms, now=MON_9, handed_off_at=MON_9, owner=None, name="Nobody's")
    Membership.objects.filter(team=terms.sales, user=terms.rep2).delete()  # rep2 left

    assert list(leads_nobody_owes([terms.sales])) == [gone, nobody]
    client.force_login(terms.sales_manager)
    with time_machine.travel(berlin(2026, 11, 25, 13, 0), tick=False):
        page = client.get(reverse("team-home")).content.decode()
    assert "Leads nobody owes (2)" in page
    assert "(no longer in the team)" in page
    assert "2d 4h" in page  # handed off Monday 09:00, seen Wednesday 13:00


# Honest cadence ----------------------------------------------------------------------------


def test_two_clicks_inside_the_minimum_gap_are_one_attempt(terms):
    lead = make_lead(terms, now=MON_9, handed_off_at=MON_9)
    touch(lead, berlin(2026, 11, 23, 9, 20), terms.rep)  # attempt 1: first touch met
    touch(lead, berlin(2026, 11, 23, 9, 20, 1, 300000), terms.rep)  # 1.3 s later: the same

    follow_ups = list(lead.obligations.filter(kind="follow_up").values_list("attempt", "status"))
    assert follow_ups == [(2, "open")]  # attempt 2 not met by the double click, no attempt 3
    attempt2 = lead.obligations.get(kind="follow_up")
    assert attempt2.due_at == berlin(2026, 11, 24, 9, 20)

    touch(lead, berlin(2026, 11, 23, 10, 20), terms.rep)  # an hour after attempt 1: counts
    attempt2.refresh_from_db()
    assert attempt2.status == "met"
    assert lead.obligations.get(kind="follow_up", attempt=3).due_at == berlin(2026, 11, 24, 10, 20)


def test_the_minimum_gap_is_a_setting_of_the_follow_up(org):
    add_commitment(org.version, "first_touch", within="PT1H")
    add_commitment(org.version, "follow_up", attempts=3, every="P1D", min_gap="")
    activate(org, now=berlin(2026, 11, 1))
    lead = make_lead(org, now=MON_9, handed_off_at=MON_9)
    touch(lead, berlin(2026, 11, 23, 9, 20), org.rep)
    touch(lead, berlin(2026, 11, 23, 9, 21), org.rep)  # no gap set: a second attempt

    assert list(lead.obligations.filter(kind="follow_up").values_list("attempt", "status")) == [
        (2, "met"),
        (3, "open"),
    ]


# Undo --------------------------------------------------------------------------------------


def test_the_author_undoes_a_touch_within_15_minutes(terms):
    lead = make_lead(terms, now=MON_9, handed_off_at=MON_9)
    logged = berlin(2026, 11, 23, 9, 20)
    with time_machine.travel(logged, tick=False):
        activity = touch(lead, logged, terms.rep)
    assert lead.obligations.get(kind="first_touch").status == "met"

    record = services.activity_undo(
        activity=activity, user=terms.rep, now=logged + timedelta(minutes=14), reason="Wrong lead"
    )

    first = lead.obligations.get(kind="first_touch")
    assert (first.status, first.met_at, first.done_at) == ("open", None, None)  # due 10:00
    assert list(lead.obligations.filter(kind="follow_up").values_list("status", flat=True)) == [
        "cancelled"
    ]  # the attempt it started
    assert not lead.activities.exists()
    assert (record.kind, record.occurred_at, record.logged_by, record.undone_by) == (
        "call",
        logged,
        terms.rep,
        terms.rep,
    )
    assert record.reason == "Wrong lead"
    assert ActivityUndo.objects.count() == 1


def test_after_15_minutes_only_a_manager_undoes_and_a_reopened_clock_past_due_is_missed(terms):
    lead = make_lead(terms, now=MON_9, handed_off_at=MON_9)
    logged = berlin(2026, 11, 23, 9, 20)
    with time_machine.travel(logged, tick=False):
        activity = touch(lead, logged, terms.rep)
    later = berlin(2026, 11, 23, 11, 0)
    with pytest.raises(PermissionDenied):
        services.activity_undo(activity=activity, user=terms.rep, now=later)
    with pytest.raises(PermissionDenied):
        services.activity_undo(activity=activity, user=terms.rep2, now=logged)  # not his touch

    services.activity_undo(activity=activity, user=terms.sales_manager, now=later)

    first = lead.obligations.get(kind="first_touch")
    assert first.status == "breached"  # no touch after all: missed at 10:00
    assert lead.breaches.get().due_at == berlin(2026, 11, 23, 10, 0)
    assert queue_leads(terms.rep).get() == lead  # and still owed


def test_the_newest_touch_is_undone_first(terms):
    lead = make_lead(terms, now=MON_9, handed_off_at=MON_9)
    at = berlin(2026, 11, 23, 9, 20)
    with time_machine.travel(at, tick=False):
        first = touch(lead, at, terms.rep)
        second = touch(lead, at + timedelta(seconds=1), terms.rep)  # the double click
    with pytest.raises(ValidationError):
        services.activity_undo(activity=first, user=terms.rep, now=at + timedelta(minutes=1))

    services.activity_undo(activity=second, user=terms.rep, now=at + timedelta(minutes=1))
    # The double click counted for nothing: undoing it changes no clock.
    assert sorted(lead.obligations.values_list("kind", "status")) == [
        ("disposition", "open"),
        ("first_touch", "met"),
        ("follow_up", "open"),
    ]


def test_undo_in_the_browser(client, terms):
    lead = make_lead(terms, now=MON_9, handed_off_at=MON_9)
    at = berlin(2026, 11, 23, 9, 20)
    with time_machine.travel(at, tick=False):
        activity = touch(lead, at, terms.rep)
        client.force_login(terms.rep)
        page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
        assert reverse("activity-undo", args=[activity.pk]) in page
        response = client.post(reverse("activity-undo", args=[activity.pk]), follow=True)
    assert response.status_code == 200
    assert "Touch undone" in response.content.decode()
    assert Obligation.objects.get(lead=lead, kind="first_touch").status == "open"
