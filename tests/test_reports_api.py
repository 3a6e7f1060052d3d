"""/api/v1/reports/compliance/ and /api/v1/reports/funnel/: the page's numbers, the page's
filters, 400 with field messages for bad filters, and only the user's own agreements."""

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import make_user
from tests.test_reports_data import NOW, build_november

NOV = {"start": "2026-11-01", "end": "2026-11-30"}
COMPLIANCE = "/api/v1/reports/compliance/"
FUNNEL = "/api/v1/reports/funnel/"


@pytest.fixture
def nov(org):
    return build_november(org)


@pytest.fixture
def api(nov):
    cache.clear()  # throttles
    client = APIClient()
    client.force_authenticate(nov.org.marketing_manager)
    with time_machine.travel(NOW, tick=False):
        yield client


def test_compliance_gives_the_hand_computed_november(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(22):
        response = api.get(COMPLIANCE, NOV)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["filter"]["start"] == "2026-11-01" and data["filter"]["end"] == "2026-11-30"
    assert data["filter"]["timezone"] == "Europe/Berlin"
    assert data["sales"]["first_touch"] == {"decided": 6, "met": 3, "missed": 3, "pct": 50.0}
    follow_up = data["sales"]["follow_up"]
    assert (follow_up["decided"], follow_up["met"], follow_up["made"]) == (5, 2, 3)
    assert data["sales"]["disposition"]["pct"] == 85.7
    ttft = data["time_to_first_touch"]
    assert (ttft["median_minutes"], ttft["p90_minutes"], ttft["untouched"]) == (45.0, 156.0, 1)
    assert data["acceptance"]["pct"] == 40.0 and data["acceptance"]["below_floor"] is True
    assert data["rejection_reasons"][0] == {"reason": "Bad fit", "count": 2, "share_pct": 66.7}
    assert [(p["status"], p["actual"], p["target"]) for p in data["volume"]] == [("running", 3, 5)]
    weeks = data["trend"]["week"]
    assert [w["first_touch_pct"] for w in weeks] == [None, 50.0, 0.0, 100.0, 0.0, None]


def test_compliance_says_how_far_the_rollups_went(api, nov):
    from tests.test_reports_data import roll_up

    assert api.get(COMPLIANCE, NOV).json()["filter"]["rolled_up_through"] is None
    roll_up(NOW)
    data = api.get(COMPLIANCE, NOV).json()
    assert data["filter"]["rolled_up_through"] == "2026-11-24"  # the day before NOW
    assert data["sales"]["first_touch"] == {"decided": 6, "met": 3, "missed": 3, "pct": 50.0}


def test_compliance_filters_by_rep_and_tier(api, nov):
    rep2 = api.get(COMPLIANCE, {**NOV, "rep": nov.org.rep2.pk}).json()
    assert rep2["sales"]["first_touch"]["decided"] == 1
    tier_a = api.get(COMPLIANCE, {**NOV, "tier": "A"}).json()
    assert tier_a["sales"]["first_touch"]["pct"] == 75.0


def test_funnel_by_campaign_and_lead_source(api):
    data = api.get(FUNNEL, NOV).json()
    assert data["by"] == "campaign"
    c1 = next(r for r in data["rows"] if r["group"] == "C1")
    assert (c1["mql"], c1["sal"], c1["won"], c1["recycled"]) == (4, 3, 1, 1)
    assert (c1["sal_pct"], c1["overall_pct"]) == (75.0, 25.0)
    total = data["total"]
    assert (total["sla_kept_to_sql_pct"], total["sla_missed_to_sql_pct"]) == (50.0, 0.0)
    by_source = api.get(FUNNEL, {**NOV, "by": "lead_source"}).json()
    assert {r["group"]: r["mql"] for r in by_source["rows"]} == {"Ads": 5, "Webinar": 3}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"start": "2026-12-01", "end": "2026-11-01"}, "end"),
        ({"start": "yesterday"}, "start"),
        ({"start": "0001-01-01"}, "start"),
        ({"end": "9999-12-31"}, "end"),
        ({"agreement": "abc"}, "agreement"),
        ({"agreement": "99999999999999999999999"}, "agreement"),
        ({"rep": "-1"}, "rep"),
        ({"team": "0"}, "team"),
        ({"tier": "x" * 21}, "tier"),
        ({"tier": "a\x00b"}, "tier"),
        ({"start": "11/01/2026"}, "start"),  # the API takes ISO dates only
        ({"agreement": ""}, "agreement"),
    ],
)
def test_bad_filters_give_400_with_field_messages(api, params, field):
    for url in (COMPLIANCE, FUNNEL):
        response = api.get(url, params)
        assert response.status_code == 400, (url, params)
        assert field in response.json()["fields"], response.json()


@pytest.mark.parametrize("by", ["country", ""])
def test_bad_funnel_grouping_gives_400(api, by):
    response = api.get(FUNNEL, {"by": by})
    assert response.status_code == 400
    assert "by" in response.json()["fields"]


def test_another_teams_agreement_is_not_visible(api, nov):
    outsider = make_user("outsider")
    api.force_authenticate(outsider)
    data = api.get(COMPLIANCE, NOV).json()
    assert data["filter"]["agreements"] == []
    assert data["sales"]["first_touch"]["decided"] == 0
    response = api.get(COMPLIANCE, {**NOV, "agreement": nov.org.agreement.pk})
    assert response.status_code == 400 and "agreement" in response.json()["fields"]


def test_anonymous_requests_are_refused(nov):
    cache.clear()
    assert APIClient().get(COMPLIANCE).status_code in (401, 403)


def test_schema_documents_both_reports(api):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    compliance = schema["paths"]["/api/v1/reports/compliance/"]["get"]
    assert {p["name"] for p in compliance["parameters"]} >= {
        "start",
        "end",
        "agreement",
        "team",
        "rep",
        "tier",
        "lead_source",
    }
    assert {"200", "400"} <= set(compliance["responses"])
    funnel = schema["paths"]["/api/v1/reports/funnel/"]["get"]
    assert "by" in {p["name"] for p in funnel["parameters"]}


PARAMS = ["start", "end", "agreement", "team", "rep", "tier", "lead_source", "by"]


@pytest.mark.parametrize("url", [COMPLIANCE, FUNNEL])
def test_any_query_string_gives_200_or_400_never_500(org, url):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    values = st.one_of(
        st.text(max_size=30),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.dates().map(str),
        st.sampled_from(["campaign", "lead_source", "2026-02-30", "1e9", " 1", "00"]),
    )
    client = APIClient()
    client.force_authenticate(org.sales_manager)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.dictionaries(st.sampled_from(PARAMS), values, max_size=4))
    def check(params):
        cache.clear()
        response = client.get(url, params)
        assert response.status_code in (200, 400), (params, response.content[:300])
        if response.status_code == 400:
            assert response.json()["fields"]

    check()
