"""Report pages render the November data with charts, link every figure to its leads, and
their CSV exports carry exactly the numbers on the page."""

import csv
import io
import json
from html.parser import HTMLParser

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from tests.test_reports_data import NOW, b, build_november

NOV = "start=2026-11-01&end=2026-11-30"


class Tables(HTMLParser):
    """Cells of every <table id=…> (header row included), as text."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: dict[str, list[list[str]]] = {}
        self._table = None
        self._cell = None
        self._link = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table], self.links[self._table] = [], []
        elif self._table and tag == "tr":
            self.tables[self._table].append([])
            self.links[self._table].append([])
        elif self._table and tag in ("td", "th"):
            self._cell, self._link = "", ""
        elif self._cell is not None and tag == "a":
            self._link = attrs.get("href", "")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif self._table and tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join(self._cell.split()))
            self.links[self._table][-1].append(self._link)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def parse(response) -> Tables:
    parser = Tables()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def nov(org):
    return build_november(org)


@pytest.fixture
def client_in(client, nov):
    client.force_login(nov.org.sales_manager)
    with time_machine.travel(NOW, tick=False):
        yield client


def csv_rows(client, page, table, query=NOV):
    response = client.get(reverse("reports:export", args=[page, table]) + "?" + query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def page_rows(parsed, key):
    return [[("" if c == "—" else c) for c in row] for row in parsed.tables[f"table-{key}"]]


COMPLIANCE_TABLES = [
    "sales",
    "ttft",
    "histogram",
    "acceptance",
    "reasons",
    "volume",
    "trend_week",
    "trend_month",
]


FUNNEL_TABLES = ["funnel_campaign", "sla_campaign", "funnel_lead_source", "sla_lead_source"]


def test_compliance_page_renders_with_charts_and_csv_matches(
    client_in, django_assert_max_num_queries
):
    with django_assert_max_num_queries(32):
        response = client_in.get(reverse("reports:compliance") + "?" + NOV)
    assert response.status_code == 200
    html = response.content.decode()
    assert "vendor/chart.umd.min.js" in html and 'data-chart="chart-week"' in html
    parsed = parse(response)
    # The sales table shows the hand-computed November: 6 first-touch clocks, 3 kept, 50%.
    assert page_rows(parsed, "sales")[1] == ["First touch within the SLA", "6", "3", "3", "50.0"]
    for key in COMPLIANCE_TABLES:
        assert page_rows(parsed, key) == csv_rows(client_in, "compliance", key), key
    # The chart shows the table's numbers.
    week = json.loads(parsed_script(html, "chart-week"))
    assert week["series"][0]["data"] == [None, 50.0, 0.0, 100.0, 0.0, None]
    assert "Counted live from the leads and their clocks." in html


def test_compliance_page_says_which_days_came_from_the_rollup(client_in):
    from tests.test_reports_data import roll_up

    roll_up(NOW)
    response = client_in.get(reverse("reports:compliance") + "?" + NOV)
    html = response.content.decode()
    assert "Days up to 24 Nov 2026 are read from the daily rollup" in html
    assert page_rows(parse(response), "sales")[1] == [
        "First touch within the SLA",
        "6",
        "3",
        "3",
        "50.0",
    ]


def parsed_script(html: str, element_id: str) -> str:
    start = html.index(f'<script id="{element_id}" type="application/json">')
    body = html[html.index(">", start) + 1 :]
    return body[: body.index("</script>")]


def test_every_figure_links_to_its_leads(client_in, nov):
    parsed = parse(client_in.get(reverse("reports:compliance") + "?" + NOV))
    rows, links = parsed.tables["table-sales"], parsed.links["table-sales"]
    missed_link = links[1][3]  # first touch, "Not kept"
    assert rows[1][3] == "3" and missed_link
    response = client_in.get(missed_link)
    assert response.status_code == 200
    names = {row[0] for row in parse(response).tables["table-leads"][1:]}
    assert names == {"L2", "L3", "L5"}
    # A week of the trend links to that week's clocks: 16–22 Nov, L3 (second hand-off), L4.
    week = next(i for i, r in enumerate(parsed.tables["table-trend_week"]) if r[0] == "2026-11-16")
    week_link = parsed.links["table-trend_week"][week][2]
    assert "start=2026-11-16" in week_link and "end=2026-11-22" in week_link
    names = {r[0] for r in parse(client_in.get(week_link)).tables["table-leads"][1:]}
    assert names == {"L3", "L4"}
    reasons = parse(client_in.get(reverse("reports:compliance") + "?" + NOV))
    bad_fit = reasons.links["table-reasons"][1][1]
    names = {r[0] for r in parse(client_in.get(bad_fit)).tables["table-leads"][1:]}
    assert names == {"L3", "L8"}


def test_funnel_page_renders_with_charts_and_csv_matches(client_in, django_assert_max_num_queries):
    with django_assert_max_num_queries(22):
        response = client_in.get(reverse("reports:funnel") + "?" + NOV)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-chart="chart-campaign"' in html
    parsed = parse(response)
    for key in FUNNEL_TABLES:
        assert page_rows(parsed, key) == csv_rows(client_in, "funnel", key), key
    total = page_rows(parsed, "funnel_campaign")[-1]
    assert total[:6] == ["Total", "8", "3", "1", "1", "1"]
    sla = page_rows(parsed, "sla_campaign")[-1]
    assert sla == ["Total", "40.0", "2", "50.0", "50.0", "3", "0.0", "0.0"]
    sal_c1 = parsed.links["table-funnel_campaign"][1][2]
    names = {r[0] for r in parse(client_in.get(sal_c1)).tables["table-leads"][1:]}
    assert names == {"L1", "L3", "L4"}


def test_bad_filters_give_400_with_field_messages(client_in):
    response = client_in.get(reverse("reports:compliance") + "?start=2026-12-01&end=2026-11-01")
    assert response.status_code == 400
    assert "The end must not be before the start." in response.content.decode()
    response = client_in.get(reverse("reports:export", args=["compliance", "sales"]) + "?rep=x")
    assert response.status_code == 400
    response = client_in.get(reverse("reports:export", args=["compliance", "nope"]) + "?" + NOV)
    assert response.status_code == 400
    response = client_in.get(reverse("reports:leads") + "?metric=ttft&bucket=zzz")
    assert response.status_code == 400


def test_scorecard_shows_both_sides_promises_in_plain_words(
    client_in, django_assert_max_num_queries
):
    with django_assert_max_num_queries(22):
        response = client_in.get(reverse("reports:scorecard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sales will make a first touch on every lead within 1 hour of hand-off." in html
    assert "Marketing will deliver at least 5 SALs each month." in html
    parsed = parse(response)
    sales = parsed.tables["score-sales"]
    # Each month is headed by the version in force at its start (v1 from 30 Sep).
    assert sales[0] == ["Commitment", "Sep 2026 v1", "Oct 2026 v1", "Nov 2026 v1", "Trend"]
    first_touch = next(r for r in sales if r[0].startswith("Sales will make a first touch"))
    # October: L0 met (1 of 1); November: 3 of 6 → worse, below the sales target of 80%.
    assert first_touch[0].endswith("of hand-off. Target: 80% of clocks on time")
    assert first_touch[2:] == [
        "100.0% (target kept) 1 of 1 on time",
        "50.0% (target missed) 3 of 6 on time",
        "▼ worse",
    ]
    # The CSV export carries the same numbers.
    rows = csv_rows(client_in, "scorecard", "scorecard", "")
    assert rows[0][:5] == ["Side", "Commitment", "Sep 2026 %", "Sep 2026 detail", "Sep 2026 terms"]
    ft_csv = next(r for r in rows if r[1].startswith("Sales will make a first touch"))
    assert ft_csv[5:] == ["100.0", "1 of 1 on time", "v1", "50.0", "3 of 6 on time", "v1", "worse"]
    marketing = parsed.tables["score-marketing"]
    volume = next(r for r in marketing if r[0].startswith("Marketing will deliver"))
    # November is still running: its count is not final, so no trend from one final month.
    assert volume[2:] == ["20.0% (target missed) 1 of 5", "60.0% 3 of 5 so far", "—"]


def test_scorecard_names_the_earlier_terms_a_month_was_judged_under(client, nov):
    from agreements.services import agreement_version_draft
    from tests.factories import activate

    org = nov.org
    v2 = agreement_version_draft(agreement=org.agreement, summary="Faster first touch")
    v2.commitments.filter(kind="first_touch").update(within="PT30M")
    activate(org, now=b(2026, 11, 20, 9, 0), version=v2)
    client.force_login(org.sales_manager)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports:scorecard"))
    sales = parse(response).tables["score-sales"]
    first_touch = next(r for r in sales if r[0].startswith("Sales will make a first touch"))
    v1 = "Sales will make a first touch on every lead within 1 hour of hand-off."
    v2 = "Sales will make a first touch on every lead within 30 minutes of hand-off."
    assert first_touch[0] == f"{v2} Target: 80% of clocks on time"
    # October was all v1. November is judged under the terms in force at its start (v1); its
    # clocks started from the 20th ran under v2, and the month says so.
    assert first_touch[2] == f"100.0% (target kept) 1 of 1 on time Under v1: {v1}"
    assert first_touch[3] == (
        f"50.0% (target missed) 3 of 6 on time Under v1: {v1} From 20 Nov under v2: {v2}"
    )
    follow_up = next(r for r in sales if "attempt" in r[0])
    assert "under v1" not in " ".join(follow_up)  # unchanged terms: nothing to say


def test_review_pack_is_one_printable_page(client_in, nov, django_assert_max_num_queries):
    from leads.models import Breach
    from leads.services import breach_dispute

    breach = Breach.objects.get(lead=nov.leads["L2"], kind="first_touch")
    breach_dispute(breach=breach, user=nov.org.rep, reason="Lead had a wrong phone number", now=NOW)
    with django_assert_max_num_queries(30):
        response = client_in.get(reverse("reports:review") + "?month=2026-11")
    assert response.status_code == 200
    html = response.content.decode()
    assert "reports/reports.css" in html
    assert "@media print" in (settings.BASE_DIR / "static/reports/reports.css").read_text()
    assert "Lead had a wrong phone number" in html
    parsed = parse(response)
    causes = {(r[0], r[1]): r[2:] for r in parsed.tables["table-breaches"][1:]}
    # November breaches: first touch L2, L3, L5; follow-up L1#3, L3#2; disposition L2.
    assert causes[("Sales", "First touch")] == ["3", "2", "0", "1", "0", "0"]
    assert causes[("Sales", "Follow-up cadence")][0] == "2"
    assert causes[("Sales", "Disposition")][0] == "1"
    query = "month=2026-11"
    for key in ("breaches", "disputes", "trend_month"):
        assert page_rows(parsed, key) == csv_rows(client_in, "review", key, query), key
    assert 'data-chart="chart-review"' in html
    assert client_in.get(reverse("reports:review") + "?month=nope").status_code == 400


def test_pages_render_the_demo_data_with_charts_and_matching_csv(db, client):
    from django.contrib.auth.models import User

    from leads import demo

    demo.build(now=NOW, days=21)
    client.force_login(User.objects.get(username="sam"))
    pages = {"compliance": COMPLIANCE_TABLES, "funnel": FUNNEL_TABLES}
    with time_machine.travel(NOW, tick=False):
        for page, keys in pages.items():
            response = client.get(reverse(f"reports:{page}"))
            assert response.status_code == 200
            assert response.content.decode().count("<canvas data-chart=") >= 2
            parsed = parse(response)
            query = response.context["query"]
            for key in keys:
                assert page_rows(parsed, key) == csv_rows(client, page, key, query), key
            assert len(parsed.tables[f"table-{keys[0]}"]) > 2  # the demo fills the tables


def test_lead_list_shows_a_lead_without_owner(client, org):
    from tests.factories import activate, add_commitment, make_lead

    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    activate(org, now=NOW)
    make_lead(org, now=b(2026, 11, 24, 9, 0), handed_off_at=b(2026, 11, 24, 9, 0), owner=None)
    client.force_login(org.sales_manager)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports:leads") + "?metric=ttft&bucket=untouched&" + NOV)
    assert response.status_code == 200
    assert len(parse(response).tables["table-leads"]) == 2  # header and the one lead
