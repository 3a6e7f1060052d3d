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
