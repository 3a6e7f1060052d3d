"""The closed-loop funnel's won amount: the CRM deals won from marketing-sourced leads of the
funnel cohort, by campaign and lead source, the same on the page, in its CSV and the API."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from connectors import crypto
from connectors.models import Connector, Deal
from leads.services import lead_create, lead_set_stage
from reports import metrics
from reports.selectors import agreements_filter
from tests.factories import LONG_AGO, activate, add_commitment, make_lead

pytestmark = pytest.mark.services

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)
NOV = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


def _connector(org, kind: str, stage_map: dict) -> Connector:
    return Connector.objects.create(
        kind=kind,
        sales_team=org.sales,
        marketing_team=org.marketing,
        run_as=org.sales_manager,
        credentials=crypto.seal({"token": "t"}),
        settings={"stage_map": stage_map},
        created_at=NOW,
    )


def _deal(connector, lead, external_id: str, stage: str, amount: str | None) -> Deal:
    return Deal.objects.create(
        connector=connector,
        external_id=external_id,
        lead=lead,
        crm_stage=stage,
        amount=None if amount is None else Decimal(amount),
        updated_at=NOW,
    )


@pytest.fixture
def deals(org, require_postgres):
    """Webinar: lead 1 won two HubSpot deals, 1,000.00 ("closedwon") and 250.50 (a
    Salesforce-named "Closed Won" stage HubSpot's table does not map: not won), and lost one
    of 9,999 ("closedlost"). Lead 2 (Webinar, from Ads) won a Salesforce "Closed Won" of
    400.00 and one without an amount. Lead 3 (Fair) won 5,000.00 but came from no marketing
    team (a rep's own lead). Lead 4 (Fair) entered the funnel in October: outside the range.
    Expected, by campaign: Webinar 1,000.00 + 400.00 = 1,400.00; Fair 0; total 1,400.00. By
    lead source: Web 1,000.00, Ads 400.00."""
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=LONG_AGO)
    hubspot = _connector(org, "hubspot", {"closedwon": "won", "closedlost": "lost"})
    salesforce = _connector(org, "salesforce", {"Closed Won": "won"})
    day = datetime(2026, 11, 10, 10, 0, tzinfo=BERLIN)
    one = make_lead(org, now=day, campaign="Webinar", lead_source="Web", stage="mql")
    two = make_lead(org, now=day, campaign="Webinar", lead_source="Ads", stage="mql")
    three = lead_create(
        external_id="own-3",
        name="Rep's own",
        sales_team=org.sales,
        campaign="Fair",
        lead_source="Web",
        stage="mql",
        now=day,
    )
    october = datetime(2026, 10, 20, 10, 0, tzinfo=BERLIN)
    four = make_lead(org, now=october, campaign="Fair", lead_source="Web", stage="mql")
    for lead in (one, two, three, four):
        lead_set_stage(lead=lead, stage="won", now=day + timedelta(days=2))
    _deal(hubspot, one, "h1", "closedwon", "1000.00")
    _deal(hubspot, one, "h2", "Closed Won", "250.50")
    _deal(hubspot, one, "h3", "closedlost", "9999.00")
    _deal(salesforce, two, "s1", "Closed Won", "400.00")
    _deal(salesforce, two, "s2", "Closed Won", None)
    _deal(salesforce, three, "s3", "Closed Won", "5000.00")
    _deal(salesforce, four, "s4", "Closed Won", "700.00")
    return org


def test_won_amount_by_campaign_and_source(deals, django_assert_max_num_queries):
    f = agreements_filter([deals.agreement], now=NOW, **NOV)
    with django_assert_max_num_queries(4):
        funnel = metrics.funnel_all(f)
    rows, total = funnel["campaign"]
    assert {r.group: r.won_amount for r in rows} == {
        "Webinar": Decimal("1400.00"),
        "Fair": Decimal("0"),
    }
    assert total.won_amount == Decimal("1400.00")
    assert {r.group: r.counts["won"] for r in rows} == {"Webinar": 2, "Fair": 1}
    rows, total = funnel["lead_source"]
    assert {r.group: r.won_amount for r in rows} == {
        "Web": Decimal("1000.00"),
        "Ads": Decimal("400.00"),
    }


def test_the_funnel_csv_and_api_show_the_won_amount(deals, client):
    import time_machine
    from rest_framework.test import APIClient

    query = "?start=2026-11-01&end=2026-11-30"
    with time_machine.travel(NOW, tick=False):
        client.force_login(deals.marketing_manager)
        response = client.get(reverse("reports:export", args=["funnel", "funnel_campaign"]) + query)
        api = APIClient()
        api.force_authenticate(deals.marketing_manager)
        data = api.get("/api/v1/reports/funnel/" + query).json()
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    amount = rows[0].index("Won amount")
    assert {r[0]: r[amount] for r in rows[1:]} == {
        "Fair": "0.00",
        "Webinar": "1400.00",
        "Total": "1400.00",
    }
    assert {r["group"]: r["won_amount"] for r in data["rows"]} == {
        "Fair": "0.00",
        "Webinar": "1400.00",
    }
    assert data["total"]["won_amount"] == "1400.00"


def test_a_won_revenue_goal_adds_each_won_leads_won_deals_in_the_month_it_was_won(deals):
    """The goal counts by the month a lead was first won (not the funnel's cohort by entry):
    all four were won on 12 Nov. Lead 1: 1,000.00 (its 250.50 stage is not won for HubSpot,
    its 9,999 lost); lead 2: 400.00 (the deal without an amount adds nothing); lead 3 has no
    marketing team: out; lead 4 entered in October but was won in November: 700.00.
    November: 1,000 + 400 + 700 = 2,100.00 against a 3,000 target (70%); October 0."""
    from agreements import goals as goal_services
    from reports.goals import goal_progress

    goal = goal_services.goal_create(
        agreement=deals.agreement,
        user=deals.sales_manager,
        name="Won revenue",
        metric="won_amount",
        target=Decimal("3000"),
        period="month",
        starts_on=date(2026, 10, 1),
        owner=deals.sales_manager,
    )
    progress = goal_progress(goal, NOW)
    assert [(p.label, p.value) for p in progress.points] == [
        ("Oct 2026", 0.0),
        ("Nov 2026", 2100.0),
    ]
    assert progress.attainment_pct == 70.0
    goal.metric = "won_count"
    assert goal_progress(goal, NOW).value == 3.0
