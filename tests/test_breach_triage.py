"""Breach triage: the inbox's filters (rep, promise, status, due dates, mine) with their
counts, links to the lead and the rep's report, and bulk acknowledge through a service that
checks each breach and reports what it refused, in a fixed number of queries."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from leads import checks, services
from leads.models import Breach
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def terms(org):
    """A first touch within 4 business hours and a decision within 2."""
    ft = add_commitment(org.version, "first_touch", within="PT4H")
    disposition = add_commitment(org.version, "disposition", within="PT2H", order=1)
    activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
    return ft, disposition


def hand_off(org, day: int, owners) -> None:
    """Leads handed off on `day` November 09:00, one per owner, left untouched: each misses
    its decision at 11:00 and its first touch at 13:00 (two breaches a lead)."""
    handed = datetime(2026, 11, day, 9, 0, tzinfo=BERLIN)
    for i, owner in enumerate(owners):
        make_lead(org, now=handed, handed_off_at=handed, name=f"Lead {day}-{i}", owner=owner)
    checks.deadline_scan(now=datetime(2026, 11, day, 14, 0, tzinfo=BERLIN))


def count(client, **params) -> int:
    return client.get(reverse("breach-list"), params).context["page"].paginator.count


def test_filters_by_rep_promise_status_due_dates_and_mine(client, org, terms, frozen):
    hand_off(org, 23, [org.rep, org.rep2])  # Monday: 4 breaches
    hand_off(org, 24, [org.rep])  # Tuesday: 2 breaches
    first_touch, _ = terms
    monday_rep = Breach.objects.get(kind="first_touch", lead__name="Lead 23-0")
    Breach.objects.filter(pk=monday_rep.pk).update(status="acknowledged")
    client.force_login(org.rep)
    assert count(client) == 6
    assert count(client, rep=org.rep.pk) == 4
    assert count(client, rep=org.rep2.pk) == 2
    assert count(client, promise=str(first_touch.clause)) == 3
    assert count(client, promise=str(first_touch.clause), status="open") == 2
    assert count(client, due_from="2026-11-24") == 2
    assert count(client, due_to="2026-11-23") == 4
    assert count(client, due_from="2026-11-23", due_to="2026-11-23", rep=org.rep2.pk) == 2
    assert count(client, mine="on") == 4  # the rep's own: Monday's two and Tuesday's two

    page = client.get(reverse("breach-list"), {"rep": org.rep.pk})
    counts = {t["label"]: t["count"] for t in page.context["tabs"]}
    assert counts == {"All": 4, "Open": 3, "Acknowledged": 1, "Disputed": 0, "Resolved": 0}
    assert page.context["mine_count"] == 4
    # The sales manager's "mine" is his team's: all six.
    client.force_login(org.sales_manager)
    assert count(client, mine="on") == 6


def test_rows_link_to_the_lead_and_the_reps_compliance_report(client, org, terms, frozen):
    hand_off(org, 23, [org.rep])
    client.force_login(org.sales_manager)
    html = client.get(reverse("breach-list")).content.decode()
    lead = Breach.objects.first().lead
    assert f'href="{reverse("lead-detail", args=[lead.pk])}"' in html
    assert f'href="{reverse("reports:compliance")}?rep={org.rep.pk}"' in html
    # The rep link opens the report filtered to the rep.
    report = client.get(reverse("reports:compliance"), {"rep": org.rep.pk})
    assert report.status_code == 200


def test_a_bad_date_range_is_a_clear_message(client, org, terms, frozen):
    hand_off(org, 23, [org.rep])
    client.force_login(org.rep)
    response = client.get(
        reverse("breach-list"), {"due_from": "2026-11-24", "due_to": "2026-11-23"}
    )
    assert response.status_code == 200
    assert "The last day must not be before the first." in response.content.decode()
    nonsense = client.get(reverse("breach-list"), {"due_from": "soon", "promise": "x"})
    assert nonsense.status_code == 200
    assert "Enter a valid date." in nonsense.content.decode()


def test_the_page_reads_a_fixed_number_of_queries(client, org, terms, frozen):
    client.force_login(org.sales_manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("breach-list"), {"status": "open", "mine": "on"})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    hand_off(org, 23, [org.rep] * 3)
    queries()  # the first request of a session reads and writes it
    few = queries()
    hand_off(org, 24, [org.rep, org.rep2] * 10)
    assert queries() == few
    assert few <= 13


def test_bulk_acknowledge_checks_each_breach_and_says_what_it_refused(org, terms, frozen):
    hand_off(org, 23, [org.rep, org.rep2])
    mine = list(Breach.objects.filter(user=org.rep).order_by("id"))
    theirs = Breach.objects.filter(user=org.rep2).order_by("id").first()
    services.breach_acknowledge(breach=mine[1], user=org.rep, now=NOW)
    result = services.breach_acknowledge_many(
        breach_ids=[mine[0].pk, mine[1].pk, theirs.pk, 999999, mine[0].pk],
        user=org.rep,
        note="On it",
        now=NOW,
    )
    assert [b.pk for b in result.acknowledged] == [mine[0].pk]
    assert result.refused == {
        mine[1].pk: "Only an open breach can be acknowledged; this one is acknowledged.",
        theirs.pk: "Only the breached team acknowledges its breach.",
        999999: "No such breach among those you see.",
    }
    mine[0].refresh_from_db()
    assert (mine[0].status, mine[0].acknowledge_note, mine[0].acknowledged_by) == (
        "acknowledged",
        "On it",
        org.rep,
    )
    event = AuditEvent.objects.get(action="breach.acknowledge", object_id=str(mine[0].pk))
    assert event.changes == {"note": "On it"}
    assert set(event.teams.values_list("pk", flat=True)) == {org.sales.pk, org.marketing.pk}


def test_bulk_acknowledge_is_a_fixed_number_of_queries(org, terms, frozen):
    hand_off(org, 23, [org.rep] * 2)
    hand_off(org, 24, [org.rep] * 10)
    monday = list(Breach.objects.filter(due_at__day=23).values_list("pk", flat=True))
    tuesday = list(Breach.objects.filter(due_at__day=24).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as few:
        services.breach_acknowledge_many(breach_ids=monday, user=org.sales_manager, now=NOW)
    with CaptureQueriesContext(connection) as many:
        result = services.breach_acknowledge_many(
            breach_ids=tuesday, user=org.sales_manager, now=NOW
        )
    assert len(result.acknowledged) == 20
    assert len(many.captured_queries) == len(few.captured_queries) <= 8


def test_bulk_acknowledge_limits(org, terms, frozen):
    with pytest.raises(services.ValidationError, match="Choose the breaches"):
        services.breach_acknowledge_many(breach_ids=[], user=org.rep, now=NOW)
    with pytest.raises(services.ValidationError, match="at most 200"):
        services.breach_acknowledge_many(breach_ids=range(1, 202), user=org.rep, now=NOW)
    with pytest.raises(services.ValidationError, match="2,000 characters"):
        services.breach_acknowledge_many(breach_ids=[1], user=org.rep, note="x" * 2001, now=NOW)


def test_the_bulk_form_acknowledges_and_reports_refusals(client, org, terms, frozen):
    hand_off(org, 23, [org.rep, org.rep2])
    mine = list(Breach.objects.filter(user=org.rep).values_list("pk", flat=True))
    theirs = Breach.objects.filter(user=org.rep2).values_list("pk", flat=True).first()
    client.force_login(org.rep)
    page = client.get(reverse("breach-list"))
    html = page.content.decode()
    assert all(f'name="breaches" value="{pk}"' in html for pk in mine)
    assert f'name="breaches" value="{theirs}"' not in html  # not his to answer
    response = client.post(
        reverse("breach-bulk-acknowledge"),
        {"breaches": [*mine, theirs], "note": "Seen", "next": "/breaches/?status=open"},
    )
    assert response.status_code == 302 and response.url == "/breaches/?status=open"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert texts == [
        "2 breaches acknowledged.",
        f"1 not acknowledged — #{theirs}: Only the breached team acknowledges its breach.",
    ]
    assert Breach.objects.filter(status="acknowledged").count() == 2
    client.get(reverse("breach-list"))  # shows (and uses up) the messages

    def said(data) -> str:
        page = client.post(reverse("breach-bulk-acknowledge"), data, follow=True)
        assert page.status_code == 200
        return page.content.decode()

    assert "Choose the breaches to acknowledge." in said({"note": "x"})
    assert "Keep it to 2,000 characters or fewer (this one has 2001)." in said(
        {"breaches": mine, "note": "x" * 2001}
    )
    assert "Select a valid choice." in said({"breaches": ["abc"]})
