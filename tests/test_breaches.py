"""Answering a breach: the breached user or a manager of the breached team acknowledges
or disputes it; a manager of the
other side resolves it. The rule is the service's, whichever interface calls it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agreements.errors import PermissionDenied, ValidationError
from leads import checks, services
from leads.models import Breach
from tests.factories import activate, add_commitment, make_lead

HANDED = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
LATER = HANDED + timedelta(days=2)


@pytest.fixture
def breach(org, now):
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    activate(org, now=now)
    make_lead(org, now=HANDED, handed_off_at=HANDED)
    checks.deadline_scan(now=HANDED + timedelta(hours=2))
    return Breach.objects.get()


def test_the_breached_team_acknowledges_and_disputes(org, breach):
    services.breach_acknowledge(breach=breach, user=org.rep, note="Missed it", now=LATER)
    assert (breach.status, breach.acknowledged_by) == ("acknowledged", org.rep)
    with pytest.raises(PermissionDenied):  # a colleague answers only his own breaches
        services.breach_dispute(breach=breach, user=org.rep2, reason="Not mine", now=LATER)
    services.breach_dispute(
        breach=breach, user=org.sales_manager, reason="Phone was wrong", now=LATER
    )
    assert (breach.status, breach.dispute_reason) == ("disputed", "Phone was wrong")


def test_the_other_side_cannot_answer_for_sales(org, breach):
    with pytest.raises(PermissionDenied):
        services.breach_acknowledge(breach=breach, user=org.marketer, now=LATER)
    with pytest.raises(PermissionDenied):
        services.breach_dispute(breach=breach, user=org.marketing_manager, reason="x", now=LATER)
    assert Breach.objects.get().status == "open"


def test_only_the_other_sides_manager_resolves(org, breach):
    services.breach_dispute(breach=breach, user=org.rep, reason="Wrong number", now=LATER)
    for user in (org.sales_manager, org.rep, org.marketer):
        with pytest.raises(PermissionDenied):
            services.breach_resolve(breach=breach, user=user, resolution="waived", now=LATER)
    services.breach_resolve(
        breach=breach, user=org.marketing_manager, resolution="waived", note="Fair", now=LATER
    )
    stored = Breach.objects.get()
    assert (stored.status, stored.resolution, stored.resolved_by) == (
        "resolved",
        "waived",
        org.marketing_manager,
    )
    with pytest.raises(ValidationError):
        services.breach_resolve(
            breach=stored, user=org.marketing_manager, resolution="upheld", now=LATER
        )
