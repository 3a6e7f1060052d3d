"""The lead page and the one-click actions (log a touch, accept, reject, change stage,
reassign): they meet the obligation on the spot through leads.services."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements.models import RejectionReason
from leads import services
from leads.models import Activity, Obligation
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
HANDED = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def terms(org):
    add_commitment(org.version, "first_touch", within="PT4H")
    add_commitment(org.version, "follow_up", attempts=3, every="P1D")
    add_commitment(org.version, "disposition", within="P2D")
    activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
    RejectionReason.objects.bulk_create(
        [
            RejectionReason(code="no-budget", label="No budget", order=1),
            RejectionReason(code="retired", label="Old reason", is_active=False, order=2),
        ]
    )
    return org


@pytest.fixture
def lead(terms):
    return make_lead(terms, now=HANDED, handed_off_at=HANDED, name="Anna Weber", tier="A")


def test_the_lead_page_shows_details_clocks_and_timeline(client, terms, lead, frozen):
    services.activity_log(
        lead=lead, kind="email", occurred_at=HANDED.replace(minute=30), now=NOW, user=terms.rep
    )
    client.force_login(terms.rep)
    response = client.get(reverse("lead-detail", args=[lead.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Anna Weber" in html
    # First touch met at 09:30; attempt 2 due Thu 09:30; disposition due Fri 09:00.
    states = [(o.kind, o.attempt, o.status) for o in response.context["obligations"]]
    assert states == [
        ("disposition", 1, "open"),
        ("first_touch", 1, "met"),
        ("follow_up", 2, "open"),
    ]
    assert "23h 30m left" in html  # attempt 2, due Thu 09:30
    timeline = [(e["kind"], e["at"]) for e in response.context["timeline"]]
    assert timeline == [("activity", HANDED.replace(minute=30)), ("stage", HANDED)]
    assert "Sales will make a first touch on every lead within 4 business hours" in html


def test_the_lead_page_costs_a_fixed_number_of_queries(
    client, terms, lead, frozen, django_assert_max_num_queries
):
    for minute in range(1, 20):
        at = HANDED.replace(minute=minute)
        services.activity_log(lead=lead, kind="call", occurred_at=at, now=at, user=terms.rep)
    client.force_login(terms.rep)
    client.get(reverse("lead-detail", args=[lead.pk]))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("lead-detail", args=[lead.pk]))
    assert len(response.context["timeline"]) == 20


def test_logging_a_call_from_the_queue_meets_the_first_touch(client, terms, lead, frozen):
    client.force_login(terms.rep)
    response = client.post(
        reverse("lead-log-activity", args=[lead.pk]),
        {"kind": "call", "outcome": "attempted", "row": "queue"},
        **HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="lead-row-{lead.pk}"' in html and html.strip().startswith("<tr")
    assert "Call logged. First touch: met." in html
    first = lead.obligations.get(kind="first_touch")
    assert (first.status, first.met_at) == ("met", NOW)
    assert f'class="clock-closed" data-obligation="{first.pk}"' in html
    # Attempt 2 now runs, due one working day after the call.
    follow = lead.obligations.get(kind="follow_up")
    assert follow.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)
    assert f'data-obligation="{follow.pk}"' in html
    assert Activity.objects.get(lead=lead).user == terms.rep


def test_logging_a_touch_without_javascript_redirects_back(client, terms, lead, frozen):
    client.force_login(terms.rep)
    response = client.post(
        reverse("lead-log-activity", args=[lead.pk]),
        {"kind": "email", "outcome": "connected", "note": "Booked a demo", "next": "/queue/"},
        follow=True,
    )
    assert response.redirect_chain == [("/queue/", 302)]
    assert "Email logged. First touch: met." in response.content.decode()
    assert not lead.obligations.filter(kind="follow_up").exists()  # connected: cadence ends


def test_a_bad_touch_is_refused_with_the_reason(client, terms, lead, frozen):
    client.force_login(terms.rep)
    response = client.post(
        reverse("lead-log-activity", args=[lead.pk]), {"kind": "fax", "row": "queue"}, **HX
    )
    assert response.status_code == 422
    assert "Select a valid choice. fax is not one of the available choices." in (
        response.content.decode()
    )
    response = client.post(reverse("lead-log-activity", args=[lead.pk]), {"kind": "fax"})
    assert response.status_code == 400
    assert Activity.objects.count() == 0


def test_accepting_meets_the_disposition_clock(client, terms, lead, frozen):
    client.force_login(terms.rep)
    response = client.post(reverse("lead-accept", args=[lead.pk]), {"row": "queue"}, **HX)
    assert response.status_code == 200
    assert "Lead accepted. Disposition: met." in response.content.decode()
    lead.refresh_from_db()
    assert (lead.stage, lead.accepted_at) == ("sal", NOW)


def test_rejecting_takes_a_reason_from_the_configured_list(client, terms, lead, frozen):
    client.force_login(terms.rep)
    refused = client.post(
        reverse("lead-reject", args=[lead.pk]), {"reason": "retired", "row": "queue"}, **HX
    )
    assert refused.status_code == 422
    assert "Select a valid choice." in refused.content.decode()
    response = client.post(
        reverse("lead-reject", args=[lead.pk]), {"reason": "no-budget", "row": "queue"}, **HX
    )
    assert response.status_code == 200
    assert "Lead rejected. Disposition: met." in response.content.decode()
    lead.refresh_from_db()
    assert (lead.stage, lead.rejection_reason) == ("rejected", "No budget")
    # Rejection stops every clock of the lead.
    assert not lead.obligations.filter(status="open").exists()
    again = client.post(
        reverse("lead-reject", args=[lead.pk]), {"reason": "no-budget", "row": "queue"}, **HX
    )
    assert "The lead has already been accepted or rejected." in again.content.decode()


def test_disqualifying_after_contact_is_a_stage_not_a_rejection(client, terms, lead, frozen):
    client.force_login(terms.rep)
    response = client.post(
        reverse("lead-stage", args=[lead.pk]), {"stage": "lost", "note": "No project"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.rejection_reason, lead.rejected_at) == ("lost", "", None)
    assert lead.obligations.filter(status="cancelled").count() == 2


def test_only_the_sales_team_works_a_lead(client, terms, lead, frozen):
    client.force_login(terms.marketer)
    assert client.get(reverse("lead-detail", args=[lead.pk])).status_code == 200
    response = client.post(reverse("lead-log-activity", args=[lead.pk]), {"kind": "call"})
    assert response.status_code == 403
    assert Activity.objects.count() == 0


def test_only_a_sales_manager_reassigns(client, terms, lead, frozen):
    client.force_login(terms.rep)
    response = client.post(reverse("lead-reassign", args=[lead.pk]), {"owner": terms.rep2.pk})
    assert response.status_code == 403
    client.force_login(terms.sales_manager)
    response = client.post(reverse("lead-reassign", args=[lead.pk]), {"owner": terms.rep2.pk})
    assert response.status_code == 302
    assert set(lead.obligations.values_list("user__username", flat=True)) == {"rep2"}


def test_a_lead_of_another_team_is_not_found(client, lead, frozen):
    from tests.factories import make_user

    client.force_login(make_user("outsider"))
    response = client.get(reverse("lead-detail", args=[lead.pk]))
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_actions_need_post(client, terms, lead):
    client.force_login(terms.rep)
    assert client.get(reverse("lead-accept", args=[lead.pk])).status_code == 405
    assert Obligation.objects.filter(status="met").count() == 0
