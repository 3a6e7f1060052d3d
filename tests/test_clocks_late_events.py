"""A clock past due is missed at its due time, whatever is recorded later; a waived miss
counts nowhere. Histories on a Mon–Fri 09:00–17:00 Berlin calendar, worked out by hand:

    first touch within 1 business hour, follow-up 2 attempts every 1 working day,
    disposition within 1 working day. Hand-offs Thursday 19 Nov 2026 13:00, so
    first touch is due Thu 14:00 and the disposition Fri 13:00.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from leads import checks, services
from leads.models import Breach, Obligation
from reports import metrics, refresh
from reports.scorecard import scorecard
from reports.selectors import report_filter
from tests.factories import activate, add_commitment, make_lead
from tests.test_reports_data import roll_up

BERLIN = ZoneInfo("Europe/Berlin")
OPEN, MET, BREACHED, CANCELLED, WAIVED = "open", "met", "breached", "cancelled", "waived"


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


THU_13 = berlin(2026, 11, 19, 13, 0)
THU_14 = berlin(2026, 11, 19, 14, 0)  # first touch due
FRI_13 = berlin(2026, 11, 20, 13, 0)  # disposition due
MON_12 = berlin(2026, 11, 23, 12, 0)  # when the figures are read


@pytest.fixture
def terms(org, now):
    add_commitment(org.version, "first_touch", within="PT1H")
    add_commitment(org.version, "follow_up", attempts=2, every="P1D")
    add_commitment(org.version, "disposition", within="P1D")
    activate(org, now=THU_13.replace(day=1))
    return org


def status(lead, kind, attempt=1) -> str:
    return lead.obligations.get(
        kind=kind, attempt=attempt, starts_at__gte=lead.handed_off_at
    ).status


def compliance(org, *, now=MON_12, start=(2026, 11, 19), end=(2026, 11, 23)):
    f = report_filter(org.sales_manager, now=now, start=date(*start), end=date(*end))
    with metrics.report_reads():
        result = metrics.sales_compliance(f)
    return {kind: (c.decided, c.met) for kind, c in result.items()}


# The example of the issue: rejected Friday 11:00, before any scan ran --------------------


def test_a_late_rejection_keeps_the_missed_first_touch(terms):
    lead = make_lead(terms, now=THU_13, handed_off_at=THU_13)
    services.lead_reject(lead=lead, reason="No budget", now=berlin(2026, 11, 20, 11, 0))

    assert status(lead, "first_touch") == BREACHED  # missed Thursday 14:00, not cancelled
    assert status(lead, "disposition") == MET  # Friday 11:00 is before Friday 13:00
    breach = Breach.objects.get(lead=lead)
    assert (breach.kind, breach.due_at, breach.user) == ("first_touch", THU_14, terms.rep)
    # Thursday, closed: one first-touch clock due, missed.
    assert compliance(terms, start=(2026, 11, 19), end=(2026, 11, 19))["first_touch"] == (1, 0)


def test_a_late_stage_change_keeps_what_fell_due_before_it(terms):
    lead = make_lead(terms, now=THU_13, handed_off_at=THU_13)
    services.lead_set_stage(lead=lead, stage="sql", now=berlin(2026, 11, 20, 15, 0))

    assert status(lead, "first_touch") == BREACHED  # due Thu 14:00
    assert status(lead, "disposition") == BREACHED  # due Fri 13:00, the conversion came at 15:00
    assert set(Breach.objects.filter(lead=lead).values_list("due_at", flat=True)) == {
        THU_14,
        FRI_13,
    }


def test_a_stage_change_before_the_due_time_still_cancels(terms):
    lead = make_lead(terms, now=THU_13, handed_off_at=THU_13)
    services.lead_set_stage(lead=lead, stage="lost", now=berlin(2026, 11, 19, 13, 30))

    assert status(lead, "first_touch") == CANCELLED
    assert status(lead, "disposition") == CANCELLED
    assert not Breach.objects.filter(lead=lead).exists()


def test_a_late_hand_off_again_keeps_the_earlier_misses(terms):
    lead = make_lead(terms, now=THU_13, handed_off_at=THU_13)
    # Recycled Friday 16:00 (after both due times), handed off again Monday 09:00.
    services.lead_set_stage(lead=lead, stage="recycled", now=berlin(2026, 11, 20, 16, 0))
    services.lead_hand_off(lead=lead, at=berlin(2026, 11, 23, 9, 0), now=berlin(2026, 11, 23, 9))

    first = lead.obligations.filter(starts_at=THU_13)
    assert sorted(first.values_list("kind", "status")) == [
        ("disposition", BREACHED),
        ("first_touch", BREACHED),
    ]
    again = lead.obligations.filter(starts_at=berlin(2026, 11, 23, 9, 0))
    assert sorted(again.values_list("kind", "status", "due_at")) == [
        ("disposition", OPEN, berlin(2026, 11, 24, 9, 0)),
        ("first_touch", OPEN, berlin(2026, 11, 23, 10, 0)),
    ]


def test_a_late_connected_touch_misses_the_first_touch_and_stops_the_cadence(terms):
    lead = make_lead(terms, now=THU_13, handed_off_at=THU_13)
    at = berlin(2026, 11, 20, 10, 0)
    services.activity_log(
        lead=lead, kind="call", outcome="connected", occurred_at=at, now=at, user=terms.rep
    )

    first_touch = lead.obligations.get(kind="first_touch")
    assert (first_touch.status, first_touch.done_at) == (BREACHED, at)  # missed, done late
    assert not lead.obligations.filter(kind="follow_up").exists()
    assert status(lead, "disposition") == OPEN  # due Fri 13:00, not yet


# The same history, the scan run early, late or never: the same figures --------------------


def _history(org, scans: list[datetime]) -> None:
    """Four leads handed off Thursday 13:00; events recorded when they happen (now = at),
    deadline scans at `scans`."""
    a, b, c, d = (make_lead(org, now=THU_13, handed_off_at=THU_13) for _ in range(4))
    stage = services.lead_set_stage
    steps = [
        (berlin(2026, 11, 19, 13, 30), lambda at: _touch(b, at, org.rep)),
        (berlin(2026, 11, 20, 10, 0), lambda at: _touch(c, at, org.rep, "connected")),
        (berlin(2026, 11, 20, 11, 0), lambda at: services.lead_reject(lead=a, reason="x", now=at)),
        (berlin(2026, 11, 20, 12, 0), lambda at: services.lead_accept(lead=c, now=at)),
        (berlin(2026, 11, 20, 15, 0), lambda at: stage(lead=b, stage="sql", now=at)),
        (berlin(2026, 11, 20, 16, 0), lambda at: stage(lead=d, stage="recycled", now=at)),
        (berlin(2026, 11, 23, 9, 0), lambda at: services.lead_hand_off(lead=d, at=at, now=at)),
        (berlin(2026, 11, 23, 9, 10), lambda at: _touch(d, at, org.rep)),
    ]
    timeline = [(at, 1, step) for at, step in steps] + [(at, 0, None) for at in scans]
    for at, _, step in sorted(timeline, key=lambda item: (item[0], item[1])):
        if step is None:
            checks.deadline_scan(now=at)
        else:
            step(at)


def _touch(lead, at, user, outcome="attempted"):
    services.activity_log(
        lead=lead, kind="call", occurred_at=at, now=at, user=user, outcome=outcome
    )


@pytest.mark.parametrize(
    "scans",
    [
        [],  # never
        [berlin(2026, 11, 19, 14, 1)],  # early: right after the first-touch due time
        [berlin(2026, 11, 20, 13, 31)],  # late: after every first-week due time
        [berlin(2026, 11, 19, 14, 1), berlin(2026, 11, 20, 13, 31), MON_12],  # every time
    ],
    ids=["never", "early", "late", "often"],
)
def test_the_same_history_gives_the_same_figures_whenever_the_scan_runs(terms, scans):
    _history(terms, scans)

    # First touch: A missed (Thu 14:00), B met (13:30), C missed (touched Fri 10:00),
    # D missed before its recycle, D again met (due Mon 10:00, touched 09:10): 5 decided, 2 met.
    # Follow-up: B's attempt 2 due Fri 13:30 missed (converted at 15:00); C connected, so no
    # attempt 2; D's attempt 2 is due Tue 09:10 (not decided Monday noon): 1 decided, 0 met.
    # Disposition: A met (Fri 11:00), B missed (due Fri 13:00), C met (Fri 12:00), D missed
    # (recycled Fri 16:00); D again due Tue 09:00: 4 decided, 2 met.
    assert compliance(terms) == {"first_touch": (5, 2), "follow_up": (1, 0), "disposition": (4, 2)}
    # Thursday alone, closed: the four first-touch clocks due Thu 14:00, one met.
    assert compliance(terms, start=(2026, 11, 19), end=(2026, 11, 19))["first_touch"] == (4, 1)
    # Every miss recorded (or still to be recorded by a scan) carries its due time.
    for breach in Breach.objects.select_related("obligation"):
        assert breach.due_at == breach.obligation.due_at


# Resolutions count -------------------------------------------------------------------------


def _two_missed(org):
    """Two leads whose first touch is missed Thursday 14:00, one whose first touch is met."""
    missed = [make_lead(org, now=THU_13, handed_off_at=THU_13) for _ in range(2)]
    kept = make_lead(org, now=THU_13, handed_off_at=THU_13)
    _touch(kept, berlin(2026, 11, 19, 13, 20), org.rep)
    checks.deadline_scan(now=berlin(2026, 11, 19, 14, 5))
    return [Breach.objects.get(lead=lead, kind="first_touch") for lead in missed]


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled"])
def test_a_waived_breach_counts_as_neither_kept_nor_missed(terms, rolled):
    waived, upheld = _two_missed(terms)
    before = compliance(terms, now=berlin(2026, 11, 19, 15), end=(2026, 11, 19))["first_touch"]
    assert before == (3, 1)  # 1 of 3 kept
    if rolled:  # Thursday closed and read from the daily rollup from here on
        roll_up(MON_12)
        assert compliance(terms, end=(2026, 11, 19))["first_touch"] == (3, 1)

    for breach in (waived, upheld):
        services.breach_dispute(
            breach=breach, user=terms.rep, reason="CRM was down", now=berlin(2026, 11, 19, 15)
        )
    services.breach_resolve(
        breach=waived, user=terms.marketing_manager, resolution="waived", now=MON_12
    )
    services.breach_resolve(
        breach=upheld, user=terms.marketing_manager, resolution="upheld", now=MON_12
    )

    if rolled:
        refresh.refresh(now=MON_12)  # the next refresh rewrites the waived lead's day
    # Waived: out of the count; upheld: still missed. 1 of 2 kept.
    assert compliance(terms, end=(2026, 11, 19))["first_touch"] == (2, 1)
    assert Obligation.objects.get(pk=waived.obligation_id).status == WAIVED
    assert Obligation.objects.get(pk=upheld.obligation_id).status == BREACHED
    assert metrics.pct(1, 2) == 50.0


def test_a_waived_quota_miss_reads_waived_and_an_unjudged_quality_period_not_judged(org):
    add_commitment(org.version, "lead_volume", target=5, stage="sal", period="month")
    add_commitment(org.version, "lead_quality", min_acceptance_pct=60, period="month")
    activate(org, now=berlin(2026, 10, 15))
    checks.quota_evaluation(now=berlin(2026, 11, 2))  # opens November
    checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1))  # November ended: 0 of 5 SALs
    breach = Breach.objects.get(kind="lead_volume")
    services.breach_resolve(
        breach=breach, user=org.sales_manager, resolution="waived", now=berlin(2026, 12, 1, 9)
    )

    f = report_filter(
        org.marketing_manager,
        now=berlin(2026, 12, 1, 10),
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
    )
    periods = metrics.period_results(f, kinds=("lead_volume", "lead_quality"))
    assert [(p.kind, p.status, p.actual) for p in periods] == [
        ("lead_quality", "not judged", None),  # no disposition at all (minimum sample 10)
        ("lead_volume", "waived", 0),
    ]
    card = scorecard(org.agreement, now=berlin(2026, 12, 1, 10), at=berlin(2026, 11, 15))
    [line] = [line for line in card.lines if line.kind == "lead_volume"]
    november = line.scores[-1]
    assert (november.value, november.ok, november.detail) == (0.0, None, "0 of 5 (miss waived)")
