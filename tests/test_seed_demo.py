"""`seed_demo` fills an empty database with something true to show on first run."""

from io import StringIO

import pytest
from django.core.management import call_command

from agreements.models import AgreementVersion
from alerts.models import Alert
from leads.models import Breach, Lead, Obligation


@pytest.mark.django_db
def test_seed_demo_builds_an_organisation_with_history_and_refuses_to_run_twice():
    out = StringIO()
    call_command("seed_demo", "--days", "10", stdout=out)

    assert "with password 'slahub-demo'" in out.getvalue()
    assert "sam      Sam Schneider, sales manager" in out.getvalue()
    versions = dict(AgreementVersion.objects.values_list("number", "status"))
    assert versions == {1: "superseded", 2: "active"}
    assert Lead.objects.count() > 20
    assert Obligation.objects.filter(status="met").exists()
    assert Breach.objects.filter(side="sales").exists()
    assert not Alert.objects.filter(status__in=["pending", "held"]).exists()
    # The first run of the checks does not email the replayed past (escalations included).
    checks = StringIO()
    call_command("run_checks", stdout=checks)
    assert "escalation: 0 breaches escalated" in checks.getvalue()

    again = StringIO()
    call_command("seed_demo", "--if-empty", stdout=again)
    assert "already has data" in again.getvalue()


@pytest.mark.django_db
def test_the_report_pages_render_the_demo_data_and_their_csv_matches(client):
    from django.contrib.auth.models import User
    from django.db import connection
    from django.urls import reverse
    from django.utils import timezone

    from reports import refresh
    from tests.test_reports_pages import COMPLIANCE_TABLES, FUNNEL_TABLES, csv_rows, page_rows
    from tests.test_reports_pages import parse as parse_tables

    call_command("seed_demo", "--days", "14", stdout=StringIO())
    rolled = connection.vendor == "postgresql"
    if rolled:
        refresh.refresh(now=timezone.now())
    client.force_login(User.objects.get(username="sam"))
    for page, keys in (("compliance", COMPLIANCE_TABLES), ("funnel", FUNNEL_TABLES)):
        response = client.get(reverse(f"reports:{page}"))
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-chart="' in html and "vendor/chart.umd.min.js" in html
        tables = parse_tables(response)
        for key in keys:
            assert page_rows(tables, key) == csv_rows(client, page, key, ""), (page, key)
    sales = page_rows(parse_tables(client.get(reverse("reports:compliance"))), "sales")
    assert int(sales[1][1]) > 0  # first-touch clocks were decided in the demo's two weeks
