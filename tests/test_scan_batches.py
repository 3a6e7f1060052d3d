"""The deadline scan is set-based: each batch costs the same queries whatever its size —
breaches, alert rows, webhook deliveries and rollup marks included — and the snapshot it
stores is the one the general path (`alerts.content.breach_facts`) writes."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import content
from alerts.models import Alert
from integrations.models import WebhookDelivery, WebhookSubscription
from leads import checks
from leads.models import Breach
from reports.models import StaleLead
from tests.factories import LONG_AGO, activate, add_commitment, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")
# A Wednesday, before the office opens at 09:00: the first touch (PT4H) is due at 13:00.
HANDED = datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN)
SCAN = datetime(2026, 11, 25, 14, 0, tzinfo=BERLIN)


@pytest.fixture
def due(org, settings, require_postgres):
    settings.SITE_URL = "https://slahub.example"
    add_commitment(org.version, "first_touch", within="PT4H", warn_at_pct=None)
    activate(org, now=LONG_AGO)
    staff = make_user("hooks", is_staff=True)
    WebhookSubscription.objects.create(
        owner=staff, url="https://hooks.example/sla", events=["breach.created"], secret="s"
    )

    def make(count: int, **fields) -> None:
        for i in range(count):
            make_lead(org, now=HANDED, handed_off_at=HANDED, name=f"Lead {i}", **fields)

    return make


def scan_queries(batch: int) -> tuple[int, int]:
    """(breached, queries) of one scan claiming `batch` clocks at a time."""
    with CaptureQueriesContext(connection) as queries:
        breached = checks.breach_due_obligations(now=SCAN, batch=batch)
    return breached, len(queries)


def test_every_batch_costs_the_same_queries_whatever_it_breaches(due, org):
    due(4)
    assert scan_queries(batch=4)[0] == 4  # one full batch, then one that finds nothing
    due(8)
    eight = scan_queries(batch=4)  # two full batches, then the empty one
    due(20)
    twenty = scan_queries(batch=4)  # five full batches
    due(4, owner=None)  # unowned: the managers alone
    unowned = scan_queries(batch=4)

    assert (eight[0], twenty[0], unowned[0]) == (8, 20, 4)
    per_batch = (twenty[1] - eight[1]) // 3
    assert twenty[1] - eight[1] == 3 * per_batch  # linear in batches, not in clocks
    assert unowned[1] - per_batch == eight[1] - 2 * per_batch  # the empty claim and commit
    # BEGIN, the claim-breach statement, rollup marks, webhooks (subscription exists, teams,
    # subscribers, owners' teams, insert), alerts (team chat channels, breach rows, managers,
    # commitments, users, preferences, insert), COMMIT
    assert per_batch == 16

    # Every breach recorded once with its alerts, its webhook delivery and its rollup mark.
    assert Breach.objects.count() == 36
    assert WebhookDelivery.objects.filter(event="breach.created").count() == 36
    assert StaleLead.objects.count() == 36
    # the rep and the sales manager for 32 breaches, the manager alone for 4
    assert Alert.objects.filter(event="breach").count() == 2 * 32 + 4
    assert Alert.objects.filter(recipient=org.rep).count() == 32


def test_the_snapshot_is_the_one_of_the_general_path(due, org):
    due(1, company="Acme", tier="A", email="jane@acme.example", title="CTO")
    checks.deadline_scan(now=SCAN)
    breach = Breach.objects.select_related(
        "obligation__commitment", "obligation__lead", "obligation__team", "obligation__user"
    ).get()
    stored = Alert.objects.filter(recipient=org.rep).values_list("facts", flat=True).get()

    assert stored == content.breach_facts(breach, now=SCAN)
    assert stored["lead"]["label"] == "Lead 0, Acme — Tier A"
    assert stored["overdue"] == "1 h"  # due 13:00, recorded 14:00
    assert stored["due_at"] == "2026-11-25T12:00:00+00:00"
    assert stored["detected_at"] == "2026-11-25T13:00:00+00:00"
