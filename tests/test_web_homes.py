"""Each person's home page: the rep's queue, the sales manager's team compliance and the
marketing quota pace, with values computed by hand (Berlin calendar, Mon–Fri 09–17)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements.models import Membership, RejectionReason
from leads import checks, services
from tests.factories import activate, add_commitment, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


NOW = berlin(2026, 11, 25, 10, 0)  # Wednesday


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def berlin_org(org):
    for team in (org.sales, org.marketing):
        team.timezone = "Europe/Berlin"
        team.save(update_fields=["timezone"])
    return org


def handed(org, at, **fields):
    return make_lead(org, now=at, handed_off_at=at, **fields)


def touch(lead, at, user=None, outcome="attempted"):
    services.activity_log(
        lead=lead, kind="call", occurred_at=at, now=at, user=user or lead.owner, outcome=outcome
    )


# Who lands where -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, page",
    [
        ("rep", "queue"),
        ("sales_manager", "team-home"),
        ("marketing_manager", "marketing-home"),
        ("marketer", "marketing-home"),
    ],
)
def test_home_sends_each_person_to_their_page(client, org, who, page):
    client.force_login(getattr(org, who))
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse(page)


def test_someone_in_no_team_is_told_what_to_do(client, db):
    client.force_login(make_user("newcomer"))
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse("welcome"), 302)]
    assert "You are not a member of any team yet" in response.content.decode()


# The rep's queue -------------------------------------------------------------------------


@pytest.fixture
def queue_org(berlin_org, now):
    org = berlin_org
    add_commitment(org.version, "first_touch", within="PT4H")
    add_commitment(org.version, "follow_up", attempts=3, every="P1D")
    add_commitment(org.version, "disposition", within="P2D")
    activate(org, now=berlin(2026, 11, 1))
    leads = {
        "B": handed(org, berlin(2026, 11, 24, 10, 0), name="B"),  # first touch due Tue 14:00
        "A": handed(org, berlin(2026, 11, 25, 9, 0), name="A"),  # due Wed 13:00
        "C": handed(org, berlin(2026, 11, 25, 9, 30), name="C"),  # due Wed 13:30
        "D": handed(org, berlin(2026, 11, 24, 9, 0), name="D"),
        "E": handed(org, berlin(2026, 11, 25, 9, 40), name="E"),
        "other": handed(org, berlin(2026, 11, 25, 9, 0), name="Not mine", owner=org.rep2),
    }
    touch(leads["D"], berlin(2026, 11, 24, 9, 30))  # attempt 2 due Wed 09:30 (today, late)
    touch(leads["E"], berlin(2026, 11, 25, 9, 45))  # attempt 2 due Thu 09:45
    return org, leads


def test_the_queue_lists_my_clocks_overdue_first_then_by_time_left(client, queue_org, frozen):
    org, leads = queue_org
    client.force_login(org.rep)
    response = client.get(reverse("queue"))
    assert response.status_code == 200
    page = response.context["page"]
    # B's first touch (Tue 14:00) is the oldest due; then D's attempt 2 (Wed 09:30), A
    # (13:00), C (13:30), E (attempt 2 Thu 09:45). rep2's lead is not in rep's queue.
    assert [lead.name for lead in page.object_list] == ["B", "D", "A", "C", "E"]
    html = response.content.decode()
    b_row = html[html.index(f'id="lead-row-{leads["B"].pk}"') :]
    b_row = b_row[: b_row.index("</tr>")]
    assert (
        "row-overdue"
        in html[html.rindex("<tr", 0, html.index(f'id="lead-row-{leads["B"].pk}"')) :][:120]
    )
    assert "overdue by 20h 0m" in b_row  # due Tue 14:00, now Wed 10:00
    assert "Overdue" in b_row
    a_row = html[html.index(f'id="lead-row-{leads["A"].pk}"') :]
    assert "3h 0m left" in a_row[: a_row.index("</tr>")]
    assert 'data-due="2026-11-25T13:00:00+01:00"' in a_row[: a_row.index("</tr>")]
    # Follow-ups due today: D's attempt 2 only (E's is due tomorrow).
    assert [(o.lead.name, o.attempt) for o in response.context["follow_ups"]] == [("D", 2)]


def test_the_queue_shows_what_to_do_when_it_is_empty(client, org, frozen):
    client.force_login(org.rep)
    response = client.get(reverse("queue"))
    assert "Nothing is waiting on you." in response.content.decode()


def test_the_queue_costs_the_same_queries_for_many_leads(
    client, queue_org, frozen, django_assert_max_num_queries
):
    org, _ = queue_org
    for i in range(30):
        handed(org, berlin(2026, 11, 25, 9, i), name=f"Bulk {i}")
    RejectionReason.objects.create(code="no-budget", label="No budget")
    client.force_login(org.rep)
    client.get(reverse("queue"))  # the session remembers the time zone
    with django_assert_max_num_queries(10):  # + the proposals awaiting a signature, action items
        response = client.get(reverse("queue"))
    assert response.context["page"].paginator.count == 35
    assert len(response.context["page"].object_list) == 25  # paginated


# The sales manager's team page -------------------------------------------------------------


@pytest.fixture
def team_org(berlin_org):
    org = berlin_org
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=berlin(2026, 11, 1))
    l1 = handed(org, berlin(2026, 11, 23, 9, 0), name="L1")
    touch(l1, berlin(2026, 11, 23, 10, 0))  # met Monday
    handed(org, berlin(2026, 11, 23, 10, 0), name="L2")  # due Mon 14:00, scanned: breached
    checks.deadline_scan(now=berlin(2026, 11, 23, 15, 0))
    l3 = handed(org, berlin(2026, 11, 25, 8, 0), name="L3", owner=org.rep2)  # due Wed 13:00
    touch(l3, berlin(2026, 11, 25, 9, 30))  # met today
    handed(org, berlin(2026, 11, 24, 13, 0), name="L4", owner=org.rep2)  # due Tue 17:00, open
    l5 = handed(org, berlin(2026, 11, 20, 9, 0), name="L5")
    touch(l5, berlin(2026, 11, 20, 9, 30))  # met last week
    handed(org, berlin(2026, 11, 25, 9, 30), name="L6")  # running, due 13:30
    handed(org, berlin(2026, 11, 25, 9, 50), name="Nobody's", owner=None)
    return org


def test_team_compliance_today_this_week_this_month(client, team_org, frozen):
    client.force_login(team_org.sales_manager)
    response = client.get(reverse("team-home"))
    rows = [(c.label, c.met, c.missed, c.pct) for c in response.context["compliance"]]
    assert rows == [
        ("Today", 1, 0, 100.0),  # L3
        ("This week", 2, 2, 50.0),  # L1, L3 met; L2 breached, L4 past due
        ("This month", 3, 2, 60.0),  # and L5
    ]
    reps = [(r.name, r.met, r.missed, r.open, r.pct) for r in response.context["reps"]]
    assert reps == [("rep2", 1, 1, 0, 50.0), ("rep", 2, 1, 1, 66.7)]  # worst first; L6 runs
    assert [lead.name for lead in response.context["unassigned"].object_list] == ["Nobody's"]
    assert [b.lead.name for b in response.context["breaches"]] == ["L2"]
    html = response.content.decode()
    assert "60%" in html and "66.7" not in html  # percentages shown rounded


def test_the_team_page_is_for_sales_managers(client, org):
    client.force_login(org.rep)
    response = client.get(reverse("team-home"))
    assert response.status_code == 403
    assert "The team page is for sales managers." in response.content.decode()


def test_the_team_page_costs_a_fixed_number_of_queries(
    client, team_org, frozen, django_assert_max_num_queries
):
    for i in range(20):
        handed(team_org, berlin(2026, 11, 24, 9, i), name=f"Bulk {i}", owner=None)
    client.force_login(team_org.sales_manager)
    client.get(reverse("team-home"))
    # 12: the figures are read as the reports read them, so the report filter costs two
    # (the team's agreements, how far their rollups go) before the one read of the clocks.
    with django_assert_max_num_queries(14):  # + the proposals awaiting a signature, action items
        response = client.get(reverse("team-home"))
    assert response.context["unassigned"].paginator.count == 21


def test_a_manager_assigns_an_unassigned_lead(client, team_org, frozen):
    lead = team_org.sales.sales_leads.get(name="Nobody's")
    client.force_login(team_org.sales_manager)
    response = client.post(
        reverse("lead-reassign", args=[lead.pk]),
        {"owner": team_org.rep2.pk, "next": reverse("team-home")},
    )
    assert response.status_code == 302 and response.url == reverse("team-home")
    lead.refresh_from_db()
    assert lead.owner == team_org.rep2
    assert lead.obligations.get().user == team_org.rep2  # the open clock moved with it


# Marketing -------------------------------------------------------------------------------


@pytest.fixture
def marketing_org(berlin_org):
    org = berlin_org
    add_commitment(org.version, "lead_volume", target=10, stage="sal", period="month")
    add_commitment(org.version, "lead_quality", min_acceptance_pct=60, period="month")
    activate(org, now=berlin(2026, 10, 1))
    RejectionReason.objects.bulk_create(
        [
            RejectionReason(code="no-budget", label="No budget"),
            RejectionReason(code="wrong-fit", label="Not our kind of company"),
        ]
    )
    for day, count in [(3, 4), (10, 2), (25, 2)]:
        for _ in range(count):
            lead = handed(org, berlin(2026, 11, day, 9, 0))
            services.lead_accept(lead=lead, now=berlin(2026, 11, day, 9, 30))
    for reason in ["no-budget", "wrong-fit", "no-budget"]:
        lead = handed(org, berlin(2026, 11, 12, 9, 0))
        services.lead_reject(lead=lead, reason=reason, now=berlin(2026, 11, 12, 11, 0))
    return org


def test_marketing_sees_quota_pace_against_target(client, marketing_org, frozen):
    client.force_login(marketing_org.marketer)
    response = client.get(reverse("marketing-home"))
    assert response.status_code == 200
    (pace,) = response.context["paces"]
    # 24 days 10 hours of 30 days gone; 8 SALs project to 8 / 0.81389 = 9.83.
    assert (pace.actual, pace.target, pace.projection) == (8, 10, 9.8)
    assert round(pace.elapsed, 5) == round((24 + 10 / 24) / 30, 5)
    assert not pace.on_pace
    chart = pace.chart
    assert len(chart["labels"]) == 30 and chart["labels"][0] == "Sun 1 Nov"
    assert chart["actual"][:3] == [0, 0, 4]
    assert chart["actual"][9] == 6 and chart["actual"][24] == 8
    assert chart["actual"][25:] == [None] * 5
    assert chart["pace"][0] == 0.3 and chart["pace"][29] == 10.0
    assert chart["projection"][23] is None and chart["projection"][24] == 8
    assert chart["projection"][25] == 8.5 and chart["projection"][29] == 9.8
    html = response.content.decode()
    assert 'id="quota-data-0"' in html and 'data-chart="quota"' in html
    assert "behind pace" in html
    assert "chart.umd.min.js" in html


def test_marketing_sees_acceptance_and_ranked_rejection_reasons(client, marketing_org, frozen):
    client.force_login(marketing_org.marketing_manager)
    response = client.get(reverse("marketing-home"))
    acceptance = response.context["acceptance"]
    assert (acceptance.accepted, acceptance.rejected, acceptance.pct) == (8, 3, 72.7)
    assert "73%" in response.content.decode()
    assert response.context["reasons_chart"]["labels"] == ["No budget", "Not our kind of company"]
    assert response.context["reasons_chart"]["values"] == [2, 1]
    assert len(response.context["handed"].object_list) == 2  # the two of today 09:00


def test_the_marketing_page_costs_a_fixed_number_of_queries(
    client, marketing_org, frozen, django_assert_max_num_queries
):
    for _ in range(15):
        services.lead_accept(
            lead=handed(marketing_org, berlin(2026, 11, 25, 8, 0)), now=berlin(2026, 11, 25, 9)
        )
    client.force_login(marketing_org.marketing_manager)
    client.get(reverse("marketing-home"))
    with django_assert_max_num_queries(15):
        response = client.get(reverse("marketing-home"))
    assert response.context["paces"][0].actual == 23


def test_marketing_without_an_agreement_is_told_what_to_do(client, db):
    from agreements.models import Side, Team

    team = Team.objects.create(name="Brand", side=Side.MARKETING)
    user = make_user("lonely")
    Membership.objects.create(team=team, user=user)
    client.force_login(user)
    response = client.get(reverse("marketing-home"))
    assert "Your team has no agreement with a sales team yet." in response.content.decode()


def test_staff_outside_any_team_land_on_the_team_page(client, org):
    client.force_login(make_user("boss", is_staff=True))
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse("team-home"), 302)]
    assert [t.name for t in response.context["teams"]] == ["Sales"]


def test_pages_show_team_time_but_the_api_keeps_utc(client, queue_org, frozen):
    org, leads = queue_org
    client.force_login(org.rep)
    page = client.get(reverse("lead-detail", args=[leads["A"].pk])).content.decode()
    assert "Wed 25 Nov 2026 09:00" in page  # handed off 09:00 Berlin time
    api = client.get(f"/api/v1/leads/{leads['A'].pk}/").json()
    assert api["handed_off_at"] in ("2026-11-25T08:00:00Z", "2026-11-25T08:00:00+00:00")


# Figures shared for a few seconds (reports/shared.py) ---------------------------------------


@pytest.fixture
def shared_figures(settings):
    from django.core.cache import cache

    settings.SLAHUB_SHARED_FIGURES_SECONDS = 10
    cache.clear()
    yield
    cache.clear()


def test_team_figures_are_shared_for_seconds_but_what_the_manager_owes_is_current(
    client, team_org, frozen, shared_figures
):
    client.force_login(team_org.sales_manager)
    today = client.get(reverse("team-home")).context["compliance"][0]
    assert (today.met, today.missed) == (1, 0)  # L3
    touch(team_org.sales.sales_leads.get(name="L6"), NOW)  # met now, due today 13:30
    nobody = team_org.sales.sales_leads.get(name="Nobody's")
    response = client.post(
        reverse("lead-reassign", args=[nobody.pk]),
        {"owner": team_org.rep2.pk, "next": reverse("team-home")},
        follow=True,
    )
    # The lead the manager just assigned has left "Leads nobody owes" at once; the team's
    # compliance is the figure counted a moment ago.
    assert list(response.context["unassigned"].object_list) == []
    today = response.context["compliance"][0]
    assert (today.met, today.missed) == (1, 0)
    with time_machine.travel(berlin(2026, 11, 25, 10, 0, 11), tick=False):
        today = client.get(reverse("team-home")).context["compliance"][0]
    assert (today.met, today.missed, today.pct) == (2, 0, 100.0)  # L3 and L6


def test_managers_of_another_team_never_see_a_teams_shared_figures(
    client, team_org, frozen, shared_figures
):
    from agreements.models import Agreement, Side, Team

    client.force_login(team_org.sales_manager)
    assert client.get(reverse("team-home")).context["compliance"][2].met == 3
    other = Team.objects.create(
        name="Sales B", side=Side.SALES, calendar=team_org.calendar, timezone="Europe/Berlin"
    )
    Agreement.objects.create(
        name="Marketing ↔ Sales B",
        marketing_team=team_org.marketing,
        sales_team=other,
        calendar=team_org.calendar,
    )
    manager_b = make_user("manager_b")
    Membership.objects.create(team=other, user=manager_b, role=Membership.Role.MANAGER)
    client.force_login(manager_b)
    response = client.get(reverse("team-home"))
    assert [(c.met, c.missed) for c in response.context["compliance"]] == [(0, 0)] * 3
    assert response.context["reps"] == []


def test_the_queue_is_current_right_after_the_reps_own_action_with_figures_shared(
    client, queue_org, frozen, shared_figures
):
    org, leads = queue_org
    RejectionReason.objects.create(code="no-budget", label="No budget")
    client.force_login(org.rep)
    names = [lead.name for lead in client.get(reverse("queue")).context["page"].object_list]
    assert names == ["B", "D", "A", "C", "E"]
    response = client.post(
        reverse("lead-reject", args=[leads["C"].pk]),
        {"reason": "no-budget", "next": reverse("queue")},
        follow=True,
    )
    assert [lead.name for lead in response.context["page"].object_list] == ["B", "D", "A", "E"]
    leads["C"].refresh_from_db()
    assert leads["C"].stage == "rejected"


def test_marketing_figures_are_shared_for_seconds(client, marketing_org, frozen, shared_figures):
    client.force_login(marketing_org.marketer)
    first = client.get(reverse("marketing-home")).context
    # 8 SALs this month; 2 leads handed off today (09:00).
    assert (first["paces"][0].actual, first["handed"].paginator.count) == (8, 2)
    lead = services.lead_accept(lead=handed(marketing_org, NOW), now=NOW)
    again = client.get(reverse("marketing-home")).context
    assert (again["paces"][0].actual, again["handed"].paginator.count) == (8, 2)
    with time_machine.travel(berlin(2026, 11, 25, 10, 0, 11), tick=False):
        later = client.get(reverse("marketing-home")).context
    # The lead handed off and accepted at 10:00 now counts: 9 SALs, 3 handed off today, the
    # newest first.
    assert (later["paces"][0].actual, later["handed"].paginator.count) == (9, 3)
    assert later["handed"].object_list[0].pk == lead.pk


# What a page costs does not grow with the leads ---------------------------------------------


def queries_of(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


# Shared figures off (every figure counted) and on (a teammate counted them a moment ago).
# The queue is never shared: its count is the same either way.
# Each home page also asks once for the proposals awaiting the user's signature.
# The homes include one query for the owner's open review action items (docs/agreements.md).
PAGE_QUERIES = {
    ("queue", 0): 10,
    ("queue", 10): 10,
    ("team-home", 0): 14,
    ("team-home", 10): 10,
    ("marketing-home", 0): 15,
    ("marketing-home", 10): 6,
    ("reports:compliance", 0): 18,
    ("reports:compliance", 10): 7,
}


@pytest.mark.parametrize("seconds", [0, 10])
@pytest.mark.parametrize(
    "page, who",
    [("queue", "rep"), ("team-home", "sales_manager"), ("reports:compliance", "sales_manager")],
)
def test_a_page_costs_the_same_queries_for_3_or_33_more_leads(
    client, team_org, frozen, settings, page, who, seconds
):
    from django.core.cache import cache

    settings.SLAHUB_SHARED_FIGURES_SECONDS = seconds
    cache.clear()
    client.force_login(getattr(team_org, who))
    url = reverse(page)
    client.get(url)  # the session remembers the time zone; shared figures are kept
    for i in range(3):
        handed(team_org, berlin(2026, 11, 25, 9, i), name=f"Few {i}")
    few = queries_of(client, url)
    for i in range(30):
        handed(team_org, berlin(2026, 11, 24, 9, i), name=f"Many {i}", owner=None)
        handed(team_org, berlin(2026, 11, 25, 9, 10 + i), name=f"Mine {i}")
    many = queries_of(client, url)
    assert few == many <= PAGE_QUERIES[page, seconds]
    cache.clear()


@pytest.mark.parametrize("seconds", [0, 10])
def test_the_marketing_home_costs_the_same_queries_for_3_or_33_more_leads(
    client, marketing_org, frozen, settings, seconds
):
    from django.core.cache import cache

    settings.SLAHUB_SHARED_FIGURES_SECONDS = seconds
    cache.clear()
    client.force_login(marketing_org.marketing_manager)
    url = reverse("marketing-home")
    client.get(url)
    for _ in range(3):
        services.lead_accept(lead=handed(marketing_org, berlin(2026, 11, 25, 8)), now=NOW)
    few = queries_of(client, url)
    for _ in range(30):
        services.lead_accept(lead=handed(marketing_org, berlin(2026, 11, 25, 8)), now=NOW)
    many = queries_of(client, url)
    assert few == many <= PAGE_QUERIES["marketing-home", seconds]
    cache.clear()
