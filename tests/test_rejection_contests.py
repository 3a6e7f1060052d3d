"""Contesting a rejection: marketing's manager contests, the lead's sales manager upholds it
or returns the lead to its rep (clocks reopen under the terms in force at the return), both
sides see the decision, and the acceptance and funnel figures follow the outcome: a
returned rejection is taken back on the day of the return, live and rolled up alike
(docs/metrics.md). Expected values are worked out by hand from the story below."""

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from agreements import services as agreement_services
from audit.models import AuditEvent
from leads import services
from leads.models import Obligation, RejectionContest
from reports import metrics, refresh
from reports.selectors import report_filter
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")


def b(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


class Story:
    """Terms v1 (1 Nov): a first touch within 4 h and a decision within 1 day (calendar
    time). Monday 23 Nov 09:00 three leads of the rep's are handed off: L1 rejected 10:00
    ("Bad fit", untouched), L2 accepted 11:00, L3 rejected 12:00 ("No budget"). Tuesday
    marketing's manager contests both rejections (09:00, 09:30); v2 comes into force at
    12:00 (a decision within 2 days). Wednesday 25 Nov the sales manager returns L1 (09:00)
    and upholds L3 (09:30); the rep accepts L1 at 11:00."""

    def __init__(self, org):
        self.org = org
        add_commitment(org.version, "first_touch", within="PT4H", clock="calendar")
        add_commitment(org.version, "disposition", within="P1D", clock="calendar", order=1)
        activate(org, now=b(1, 9))
        self.leads = {
            name: make_lead(org, now=b(23, 9), handed_off_at=b(23, 9), name=name, owner=org.rep)
            for name in ("L1", "L2", "L3")
        }

    def reject_and_accept(self):
        services.lead_reject(lead=self.leads["L1"], reason="Bad fit", now=b(23, 10))
        services.lead_accept(lead=self.leads["L2"], now=b(23, 11))
        services.lead_reject(lead=self.leads["L3"], reason="No budget", now=b(23, 12))

    def contest(self):
        manager = self.org.marketing_manager
        self.c1 = services.rejection_contest_open(
            lead=self.leads["L1"], user=manager, reason="They asked for a demo", now=b(24, 9)
        )
        self.c3 = services.rejection_contest_open(
            lead=self.leads["L3"], user=manager, reason="Budget approved", now=b(24, 9, 30)
        )
        v2 = agreement_services.agreement_version_draft(agreement=self.org.agreement)
        v2.commitments.filter(kind="disposition").update(within="P2D")
        self.v2 = activate(self.org, now=b(24, 12), version=v2)

    def decide(self):
        manager = self.org.sales_manager
        services.rejection_contest_decide(
            contest=self.c1, user=manager, decision="returned", note="Call them", now=b(25, 9)
        )
        services.rejection_contest_decide(
            contest=self.c3, user=manager, decision="upheld", now=b(25, 9, 30)
        )
        services.lead_accept(lead=self.leads["L1"], now=b(25, 11))


@pytest.fixture
def story(org):
    s = Story(org)
    s.reject_and_accept()
    s.contest()
    return s


def test_a_return_gives_the_lead_back_with_its_clocks_under_the_terms_in_force(story):
    org = story.org
    contest = services.rejection_contest_decide(
        contest=story.c1, user=org.sales_manager, decision="returned", note="Call", now=b(25, 9)
    )
    lead = story.leads["L1"]
    lead.refresh_from_db()
    assert (lead.stage, lead.rejected_at, lead.rejection_reason) == ("mql", None, "")
    assert lead.agreement_version == story.v2
    assert (contest.decision, contest.decided_by, contest.decided_at) == (
        "returned",
        org.sales_manager,
        b(25, 9),
    )
    assert contest.return_event.to_stage == "mql"
    # The untouched first touch (cancelled by the rejection) and the decision run again
    # from the return: 4 h, and v2's 2 days.
    running = Obligation.objects.filter(lead=lead, status="open").order_by("kind")
    assert [(o.kind, o.agreement_version_id, o.starts_at, o.due_at) for o in running] == [
        ("disposition", story.v2.pk, b(25, 9), b(27, 9)),
        ("first_touch", story.v2.pk, b(25, 9), b(25, 13)),
    ]
    # The rep decides again.
    services.lead_accept(lead=lead, now=b(25, 11))
    lead.refresh_from_db()
    assert lead.stage == "sal"
    event = AuditEvent.objects.get(action="rejection.decide", object_id=str(contest.pk))
    assert event.changes == {"decision": "returned", "note": "Call", "lead": lead.pk}
    assert set(event.teams.values_list("pk", flat=True)) == {org.sales.pk, org.marketing.pk}


def test_an_upheld_rejection_stays(story):
    contest = services.rejection_contest_decide(
        contest=story.c3, user=story.org.sales_manager, decision="upheld", now=b(25, 9)
    )
    lead = story.leads["L3"]
    lead.refresh_from_db()
    assert (contest.decision, contest.return_event, lead.stage) == ("upheld", None, "rejected")
    assert not Obligation.objects.filter(lead=lead, status="open").exists()


def test_the_rules_of_contesting(story):
    org = story.org
    with pytest.raises(services.PermissionDenied, match="marketing team contests"):
        services.rejection_contest_open(
            lead=story.leads["L1"], user=org.marketer, reason="x", now=b(24, 10)
        )
    with pytest.raises(services.ValidationError, match="already been contested"):
        services.rejection_contest_open(
            lead=story.leads["L1"], user=org.marketing_manager, reason="x", now=b(24, 10)
        )
    with pytest.raises(services.ValidationError, match="Only a rejected lead"):
        services.rejection_contest_open(
            lead=story.leads["L2"], user=org.marketing_manager, reason="x", now=b(24, 10)
        )
    with pytest.raises(services.ValidationError, match="Say why"):
        services.rejection_contest_open(
            lead=story.leads["L2"], user=org.marketing_manager, reason="  ", now=b(24, 10)
        )
    with pytest.raises(services.ValidationError, match="2,000 characters"):
        services.rejection_contest_open(
            lead=story.leads["L2"], user=org.marketing_manager, reason="x" * 2001, now=b(24, 10)
        )
    with pytest.raises(services.PermissionDenied, match="sales team decides"):
        services.rejection_contest_decide(
            contest=story.c1, user=org.rep, decision="returned", now=b(25, 9)
        )
    with pytest.raises(services.ValidationError, match="upheld or returned"):
        services.rejection_contest_decide(
            contest=story.c1, user=org.sales_manager, decision="maybe", now=b(25, 9)
        )
    services.rejection_contest_decide(
        contest=story.c1, user=org.sales_manager, decision="upheld", now=b(25, 9)
    )
    with pytest.raises(services.ValidationError, match="already been decided"):
        services.rejection_contest_decide(
            contest=story.c1, user=org.sales_manager, decision="returned", now=b(25, 10)
        )
    # A lead recycled since its rejection can no longer be returned.
    services.lead_set_stage(lead=story.leads["L3"], stage="recycled", now=b(25, 10))
    with pytest.raises(services.ValidationError, match="moved on"):
        services.rejection_contest_decide(
            contest=story.c3, user=org.sales_manager, decision="returned", now=b(25, 11)
        )


# Figures ------------------------------------------------------------------------------------


def acceptance(org, now, start, end):
    f = report_filter(org.sales_manager, now=now, start=start, end=end)
    a = metrics.acceptance(f)
    return a.accepted, a.rejected, a.pct


@pytest.mark.parametrize("mode", ["live", "rolled"])
def test_acceptance_takes_a_returned_rejection_back_on_the_day_of_the_return(
    story, mode, require_postgres
):
    org = story.org
    day = {n: date(2026, 11, n) for n in (23, 24, 25)}
    if mode == "rolled":
        refresh.refresh(now=b(24, 12))  # Monday rolled up before anything was decided
    before = acceptance(org, b(24, 12), day[23], day[23])
    assert before == (1, 2, 33.3)  # L2 accepted; L1, L3 rejected
    story.decide()
    now = b(26, 10)
    if mode == "rolled":
        refresh.refresh(now=now)  # the return marked L1 stale: 25 Nov is rebuilt
    # Monday is closed: its figures do not change because of the later return.
    assert acceptance(org, now, day[23], day[23]) == before
    # Wednesday: L1's return takes its rejection back (net −1 rejection, shown as none)
    # and L1 is accepted.
    assert acceptance(org, now, day[25], day[25]) == (1, 0, 100.0)
    # The three days: accepted L2, L1; rejected L1 and L3, less L1's return.
    assert acceptance(org, now, day[23], day[25]) == (2, 1, 66.7)
    f = report_filter(org.sales_manager, now=now, start=day[23], end=day[25])
    assert metrics.rejection_reasons(f) == [("No budget", 1, 100.0)]
    behind = metrics.leads_behind(f, metric="rejected")
    assert set(behind.values_list("name", flat=True)) == {"L3"}
    # The funnel's rejected: L3 only; SAL reached: L1 and L2.
    _, total = metrics.funnel(f, "campaign")
    assert (total.counts["rejected"], total.counts["sal"], total.counts["mql"]) == (1, 2, 3)
    if mode == "rolled":
        assert f.rolled_until is not None and f.funnel_rolled
        live = replace(f, rolled_until=None, funnel_rolled=False)
        assert metrics.acceptance(f) == metrics.acceptance(live)
        assert metrics.rejection_reasons(f) == metrics.rejection_reasons(live)
        assert metrics.funnel(f, "campaign") == metrics.funnel(live, "campaign")
        assert metrics.trend(f, "week") == metrics.trend(live, "week")


def test_the_lead_quality_period_counts_the_return_too(story):
    from leads.selectors import dispositions_in

    story.decide()
    agreement = story.org.agreement
    # 23 Nov: L2 accepted, L1 and L3 rejected; 25 Nov: L1 returned and accepted.
    assert dispositions_in(agreement, b(23, 0), b(24, 0)) == (1, 2)
    assert dispositions_in(agreement, b(25, 0), b(26, 0)) == (1, 0)
    assert dispositions_in(agreement, b(23, 0), b(26, 0)) == (2, 1)


# Pages --------------------------------------------------------------------------------------


def test_contest_and_return_from_the_lead_page_both_sides_see_the_decision(client, org):
    s = Story(org)
    s.reject_and_accept()
    lead = s.leads["L1"]
    client.force_login(org.marketing_manager)
    page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Contest the rejection" in page
    too_long = client.post(reverse("lead-contest", args=[lead.pk]), {"reason": "x" * 2001})
    assert too_long.status_code == 400
    assert "Keep it to 2,000 characters or fewer (this one has 2001)." in (
        too_long.content.decode()
    )
    done = client.post(reverse("lead-contest", args=[lead.pk]), {"reason": "x" * 2000}, follow=True)
    assert "Rejection contested: the sales managers decide." in done.content.decode()
    contest = RejectionContest.objects.get(lead=lead)

    client.force_login(org.sales_manager)
    listing = client.get(reverse("breach-contests")).content.decode()
    assert "1 to decide" in listing and reverse("lead-detail", args=[lead.pk]) in listing
    page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Decide the contested rejection" in page
    bad = client.post(reverse("contest-decide", args=[contest.pk]), {"decision": "later"})
    assert bad.status_code == 400
    returned = client.post(
        reverse("contest-decide", args=[contest.pk]),
        {"decision": "returned", "note": "Call them today"},
        follow=True,
    )
    assert "Lead returned to the rep: its clocks run again." in returned.content.decode()

    for user in (org.marketing_manager, org.rep, org.marketer):
        client.force_login(user)
        page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
        assert 'data-decision="returned"' in page and "Call them today" in page
