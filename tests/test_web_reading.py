"""Reading the pages (issue 13, item 7): names link to their page, a colour shows the target
behind it, times carry their zone, and a day with nothing due says so. Values worked out by
hand on the Berlin calendar (Mon–Fri 09–17), first touch within 4 business hours."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from leads import checks, services
from reports.targets import kept, shown_pct
from tests.factories import activate, add_commitment, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


SATURDAY_NIGHT = berlin(2026, 11, 28, 22, 0)


def handed(org, at, **fields):
    return make_lead(org, now=at, handed_off_at=at, **fields)


def touch(lead, at):
    services.activity_log(
        lead=lead, kind="call", occurred_at=at, now=at, user=lead.owner, outcome="attempted"
    )


@pytest.fixture
def week(org):
    """rep: L1 met, L2 missed (due Mon 23 Nov 14:00 CET) → 1 of 2, 50%.
    rep2: L3–L6 met, L7 missed → 4 of 5, 80%: on the target, so not red.
    The week: 5 of 7 met, 71.4% → '71%', red. Nothing falls due on Saturday."""
    for team in (org.sales, org.marketing):
        team.timezone = "Europe/Berlin"
        team.save(update_fields=["timezone"])
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=berlin(2026, 11, 1))
    touch(handed(org, berlin(2026, 11, 23, 9, 0), name="L1"), berlin(2026, 11, 23, 10, 0))
    handed(org, berlin(2026, 11, 23, 10, 0), name="L2")
    for day in (24, 25, 26, 27):
        lead = handed(org, berlin(2026, 11, day, 9, 0), name=f"L{day - 21}", owner=org.rep2)
        touch(lead, berlin(2026, 11, day, 9, 30))
    handed(org, berlin(2026, 11, 27, 10, 0), name="L7", owner=org.rep2)
    checks.deadline_scan(now=SATURDAY_NIGHT)
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        yield org


def page(client, user, url, **params):
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_rounding_never_carries_a_figure_onto_its_target():
    assert (shown_pct(79.5, 80), kept(79.5, 80)) == ("79.5%", False)  # '80%' would lie
    assert (shown_pct(80.4, 80), kept(80.4, 80)) == ("80%", True)
    assert (shown_pct(80.0, 80), kept(80.0, 80)) == ("80%", True)
    assert (shown_pct(71.4, 80), shown_pct(None, 80), kept(None, 80)) == ("71%", "—", None)


def test_the_team_page_shows_the_target_behind_its_red(client, week):
    html = page(client, week.sales_manager, reverse("team-home"))
    assert "Target 80%: a figure below it is marked" in html
    rep, rep2 = (f'<tr data-rep="{u.pk}">' for u in (week.rep, week.rep2))
    rep_row = html[html.index(rep) :].split("</tr>")[0]
    rep2_row = html[html.index(rep2) :].split("</tr>")[0]
    assert 'class="badge badge-bad" title="Below the target of 80%">50%<' in rep_row
    assert "80%" in rep2_row and "badge-bad" not in rep2_row
    week_card = html[html.index('data-range="week"') :].split('data-range="month"')[0]
    assert 'class="figure-bad" title="Below the target of 80%">71%</span>' in week_card
    assert "missed · <strong>below the 80% target</strong>" in week_card


def test_today_says_nothing_was_due_on_a_saturday_night(client, week):
    html = page(client, week.sales_manager, reverse("team-home"))
    today = html[html.index('data-range="today"') :].split('data-range="week"')[0]
    assert "Today: nothing was due" in today
    assert "%" not in today  # neither '100%' nor '0%' for a day with nothing to judge


def test_a_reps_name_opens_their_compliance_for_the_month(client, week):
    html = page(client, week.sales_manager, reverse("team-home"))
    month = "start=2026-11-01&amp;end=2026-11-30"
    url = f"{reverse('reports:compliance')}?rep={week.rep.pk}&amp;{month}"
    assert f'<a href="{url}">rep</a>' in html
    client.force_login(week.sales_manager)
    response = client.get(url.replace("&amp;", "&"))
    first_touch = [c.text for c in response.context["tables"]["sales"].rows[0]]
    assert first_touch[1:] == ["2", "1", "1", "50.0"]  # L1 met, L2 missed: the rep's own


def test_breach_rows_link_the_lead_and_the_rep(client, week):
    html = page(client, week.sales_manager, reverse("team-home"))
    l2 = week.sales.sales_leads.get(name="L2")
    assert f'<a href="{reverse("lead-detail", args=[l2.pk])}">L2</a>' in html
    assert f'<a href="{reverse("reports:compliance")}?rep={week.rep.pk}">rep</a>' in html


def test_times_carry_the_zone_they_are_shown_in(client, week):
    html = page(client, week.sales_manager, reverse("team-home"))
    assert "Mon 23 Nov 14:00 CET" in html  # L2's first touch was due 14:00 Berlin time
    # Someone in no team sees UTC, and is told so: no silent one-hour shift.
    html = page(client, make_user("boss", is_staff=True), reverse("team-home"))
    assert "Mon 23 Nov 13:00 UTC" in html and "14:00 CET" not in html


def test_the_team_page_keeps_its_query_count(client, week, django_assert_max_num_queries):
    client.force_login(week.sales_manager)
    client.get(reverse("team-home"))
    with django_assert_max_num_queries(13):
        client.get(reverse("team-home"))


def test_the_lead_page_and_breach_pages_carry_the_zone(client, week):
    l2 = week.sales.sales_leads.get(name="L2")
    breach = l2.obligations.get().breach
    lead_page = page(client, week.sales_manager, reverse("lead-detail", args=[l2.pk]))
    assert "Mon 23 Nov 2026 10:00 CET" in lead_page  # handed off 10:00 Berlin time
    breach_page = page(client, week.sales_manager, reverse("breach-detail", args=[breach.pk]))
    assert "14:00 CET" in breach_page  # was due 14:00 Berlin time
    inbox = page(client, week.sales_manager, reverse("breach-list"))
    assert "Mon 23 Nov 14:00 CET" in inbox


def test_sales_rows_on_the_scorecard_are_judged_by_their_target(client, week):
    client.force_login(week.marketing_manager)
    response = client.get(reverse("reports:scorecard"))
    first_touch = next(line for line in response.context["card"].sales if not line.total)
    november = first_touch.scores[-1]
    assert (november.value, november.ok, november.detail) == (71.4, False, "5 of 7 on time")
    html = response.content.decode()
    assert "Target: 80% of clocks on time" in html
    assert '<td class="score-bad">' in html and "(target missed)" in html
    assert "sales clocks against 80% on time" in html  # the legend says what the colour means


def test_charts_read_dates_durations_and_their_target(client, week):
    client.force_login(week.sales_manager)
    response = client.get(
        reverse("reports:compliance"), {"start": "2026-11-23", "end": "2026-11-29"}
    )
    charts = response.context["charts"]
    assert charts["chart-week"]["labels"] == ["23–29 Nov"]  # not 2026-11-23
    assert charts["chart-week"]["series"][0] == {"label": "First touch %", "data": [71.4]}
    assert charts["chart-week"]["targets"] == [{"label": "Sales target 80%", "value": 80}]
    assert charts["chart-month"]["labels"] == ["Nov 2026"]
    # Touched after 60, 30, 30, 30 and 30 minutes: a median of 30 minutes, drawn in minutes
    # and labelled in hours and minutes by the chart (static/reports/reports.js).
    assert charts["chart-ttft"]["series"][0]["data"] == [30.0]
    assert charts["chart-ttft"]["unit"] == "minutes"
    html = response.content.decode()
    assert "<td>2026-11-23</td>" in html and "<td>30 min</td>" in html  # the table as the CSV
    export = client.get(
        reverse("reports:export", args=["compliance", "trend_week"]),
        {"start": "2026-11-23", "end": "2026-11-29"},
    ).content.decode()
    assert "2026-11-23" in export  # the CSV keeps the machine-readable date


def test_a_drilldown_is_titled_in_words_and_links_its_names(client, week):
    client.force_login(week.sales_manager)
    response = client.get(
        reverse("reports:leads"),
        {"metric": "first_touch", "outcome": "missed", "start": "2026-11-23", "end": "2026-11-29"},
    )
    html = response.content.decode()
    assert (
        "<strong>First touch · missed</strong>" in html
        and "first_touch" not in html.split("<table")[0].split("<h1>")[1]
    )
    l2, l7 = (week.sales.sales_leads.get(name=n) for n in ("L2", "L7"))
    assert [lead.name for lead in response.context["page"]] == ["L7", "L2"]
    assert f'<a href="{reverse("lead-detail", args=[l7.pk])}">L7</a>' in html
    compliance = reverse("reports:compliance")
    assert f'<a href="{compliance}?rep={week.rep2.pk}">rep2</a>' in html
    assert f'<a href="{compliance}?rep={week.rep.pk}">rep</a>' in html


def test_the_lead_pages_and_the_queue_link_the_rep(client, week):
    compliance = reverse("reports:compliance")
    l7 = week.sales.sales_leads.get(name="L7")
    rep2 = f'<a href="{compliance}?rep={week.rep2.pk}">rep2</a>'
    lead_page = page(client, week.sales_manager, reverse("lead-detail", args=[l7.pk]))
    assert f"<dt>Owner</dt><dd>{rep2}</dd>" in lead_page
    assert rep2 in page(client, week.sales_manager, reverse("lead-list"))
    queue = page(client, week.rep2, reverse("queue"))
    assert f'<a href="{compliance}?rep={week.rep2.pk}">Your compliance</a>' in queue


def test_the_queue_says_when_time_left_turns_amber_and_red(client, week):
    queue = page(client, week.rep2, reverse("queue"))
    amber = '<span class="countdown is-warning">amber</span>'
    assert f"Time left turns {amber} at the promise's warning point" in queue
    assert "by default when 80% of its time has gone" in queue


def test_the_review_pack_links_the_disputer(client, week):
    breach = week.sales.sales_leads.get(name="L2").obligations.get().breach
    services.breach_dispute(
        breach=breach, user=week.sales_manager, reason="The lead was a test.", now=SATURDAY_NIGHT
    )
    html = page(
        client, week.marketing_manager, reverse("reports:review"), agreement=week.agreement.pk
    )
    compliance = reverse("reports:compliance")
    assert f'<a href="{compliance}?rep={week.sales_manager.pk}">sales_manager</a>' in html


def test_no_template_shows_a_time_without_its_zone():
    """Times of day go through the one `zoned` filter (reports/templatetags/reading.py)."""
    import re
    from pathlib import Path

    bare = re.compile(r"""\|date:["'][^"']*[HhGg]:i""")
    offenders = [
        f"{path}:{n}"
        for path in sorted(Path("templates").rglob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert offenders == []
