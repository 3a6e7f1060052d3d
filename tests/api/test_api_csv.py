"""The pages' CSV downloads with an API token: the lead list export (its filters) and every
report table, under the same access rules as the pages, errors in the API's shape."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tests.factories import make_lead

pytestmark = pytest.mark.services


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


@pytest.fixture
def leads(org, outsider, now, require_postgres):
    make_lead(org, now=now, name="Ada Lovelace", email="ada@example.com", tier="A")
    make_lead(org, now=now, name="Bea Brown", email="bea@example.com", tier="B")
    from leads.services import lead_create

    lead_create(
        external_id="theirs-1",
        source_system="crm",
        name="Other Team Lead",
        email="other@example.com",
        sales_team=outsider.team,
        now=now,
    )
    return org


def test_lead_export_with_a_token_gives_the_filtered_list(leads, as_user, frozen):
    rows = rows_of(as_user(leads.sales_manager).get("/api/v1/leads/export.csv?tier=A"))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["id", "source system", "external id", "name"]
    assert [r[header.index("name")] for r in body] == ["Ada Lovelace"]
    assert body[0][header.index("owner")] == leads.rep.email


def test_lead_export_of_another_team_holds_none_of_ours(leads, outsider, as_user, frozen):
    rows = rows_of(as_user(outsider).get("/api/v1/leads/export.csv", HTTP_ACCEPT="text/csv"))
    assert [r[3] for r in rows[1:]] == ["Other Team Lead"]


def test_lead_export_without_a_token_is_a_401_in_the_error_shape(leads, frozen):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/leads/export.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["status"] == 401


def test_a_wrong_token_is_refused(leads, frozen):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    response = client.get("/api/v1/leads/export.csv")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_bad_lead_filter_is_a_400_naming_it(leads, as_user, frozen):
    response = as_user(leads.rep).get("/api/v1/leads/export.csv?stage=bogus")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"stage"}


def test_report_csv_with_a_token_is_the_pages_file(leads, as_user, client, frozen):
    query = "?start=2026-11-01&end=2026-11-30"
    by_token = as_user(leads.sales_manager).get("/api/v1/reports/compliance/sales.csv" + query)
    client.force_login(leads.sales_manager)
    by_page = client.get(reverse("reports:export", args=["compliance", "sales"]) + query)
    assert rows_of(by_token) == rows_of(by_page)
    assert by_token["Content-Disposition"] == by_page["Content-Disposition"]


def test_report_csv_of_an_unknown_table_or_bad_filter_is_a_400(leads, as_user, frozen):
    client = as_user(leads.sales_manager)
    unknown = client.get("/api/v1/reports/compliance/nope.csv")
    assert unknown.status_code == 400
    assert unknown.json()["detail"].startswith("Unknown table; choose one of: sales,")
    bad = client.get("/api/v1/reports/funnel/funnel_campaign.csv?start=yesterday")
    assert bad.status_code == 400
    assert "start" in bad.json()["detail"]


def test_report_csv_of_an_agreement_you_cannot_see_is_refused(leads, outsider, as_user, frozen):
    response = as_user(outsider).get(
        f"/api/v1/reports/scorecard/scorecard.csv?agreement={leads.agreement.pk}"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Unknown agreement or month."


def test_report_csv_without_a_token_is_a_401(leads, frozen):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/reports/compliance/sales.csv")
    assert response.status_code == 401
    assert response.json()["status"] == 401
