"""The breach inbox: filters, pagination, acknowledge, dispute, resolve by the other side's
manager, and the comment thread."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from leads import checks
from leads.models import Breach, BreachComment
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def breached_leads(org, count: int, owner=None) -> list[Breach]:
    """`count` first touches handed off Monday 09:00 (due 13:00), breached by the scan."""
    handed = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    for i in range(count):
        make_lead(org, now=handed, handed_off_at=handed, name=f"Late {i}", owner=owner or org.rep)
    checks.deadline_scan(now=datetime(2026, 11, 23, 14, 0, tzinfo=BERLIN))
    return list(Breach.objects.order_by("id"))


@pytest.fixture
def breach(org):
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
    return breached_leads(org, 1)[0]


def test_the_inbox_filters_by_side_team_and_status(client, org, breach, frozen):
    breached_leads(org, 2)
    Breach.objects.filter(pk=breach.pk).update(status="acknowledged")
    client.force_login(org.marketer)  # marketing sees sales' breaches too (mutual)
    everything = client.get(reverse("breach-list"))
    assert everything.context["page"].paginator.count == 3
    open_only = client.get(reverse("breach-list"), {"status": "open", "side": "sales"})
    assert open_only.context["page"].paginator.count == 2
    marketing = client.get(reverse("breach-list"), {"side": "marketing"})
    assert marketing.context["page"].paginator.count == 0
    assert "No breach matches these filters." in marketing.content.decode()
    team = client.get(reverse("breach-list"), {"team": org.sales.pk, "status": "acknowledged"})
    assert [b.pk for b in team.context["page"].object_list] == [breach.pk]


def test_the_inbox_is_paginated_without_n_plus_one(
    client, org, breach, frozen, django_assert_max_num_queries
):
    breached_leads(org, 30)
    client.force_login(org.sales_manager)
    client.get(reverse("breach-list"))
    # 9 before triage; + the counts per status, the count of "mine", the contests to decide.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("breach-list"), {"page": 2})
    page = response.context["page"]
    assert (page.paginator.count, page.number, len(page.object_list)) == (31, 2, 6)
    assert "Page 2 of 2" in response.content.decode()


def test_an_empty_inbox_says_all_promises_were_kept(client, org, frozen):
    client.force_login(org.rep)
    response = client.get(reverse("breach-list"))
    assert "No breach so far" in response.content.decode()


def test_the_breached_team_acknowledges_with_a_note(client, org, breach, frozen):
    client.force_login(org.sales_manager)
    page = client.get(reverse("breach-detail", args=[breach.pk]))
    assert "Sales will make a first touch on every lead within 4 business hours" in (
        page.content.decode()
    )
    response = client.post(
        reverse("breach-acknowledge", args=[breach.pk]), {"note": "Rep was ill."}, follow=True
    )
    assert "Breach acknowledged." in response.content.decode()
    breach.refresh_from_db()
    assert (breach.status, breach.acknowledged_by, breach.acknowledged_at) == (
        "acknowledged",
        org.sales_manager,
        NOW,
    )
    assert breach.acknowledge_note == "Rep was ill."


def test_the_other_side_cannot_acknowledge(client, org, breach, frozen):
    client.force_login(org.marketing_manager)
    response = client.post(reverse("breach-acknowledge", args=[breach.pk]), {"note": "x"})
    assert response.status_code == 403
    assert Breach.objects.get(pk=breach.pk).status == "open"


def test_a_dispute_needs_a_reason(client, org, breach, frozen):
    client.force_login(org.rep)
    response = client.post(reverse("breach-dispute", args=[breach.pk]), {"reason": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    response = client.post(
        reverse("breach-dispute", args=[breach.pk]), {"reason": "The phone number was wrong."}
    )
    assert response.status_code == 302
    breach.refresh_from_db()
    assert (breach.status, breach.dispute_reason) == ("disputed", "The phone number was wrong.")


def test_only_the_other_sides_manager_resolves(client, org, breach, frozen):
    client.force_login(org.sales_manager)
    refused = client.post(reverse("breach-resolve", args=[breach.pk]), {"resolution": "waived"})
    assert refused.status_code == 403
    client.force_login(org.marketing_manager)
    page = client.get(reverse("breach-detail", args=[breach.pk]))
    assert page.context["can_resolve"] and not page.context["can_answer"]
    response = client.post(
        reverse("breach-resolve", args=[breach.pk]),
        {"resolution": "waived", "note": "Wrong number from the form."},
    )
    assert response.status_code == 302
    breach.refresh_from_db()
    assert (breach.status, breach.resolution, breach.resolved_by) == (
        "resolved",
        "waived",
        org.marketing_manager,
    )
    again = client.post(reverse("breach-resolve", args=[breach.pk]), {"resolution": "upheld"})
    assert again.status_code == 400
    assert "This breach is already resolved." in again.content.decode()


def test_both_sides_comment(client, org, breach, frozen, django_assert_max_num_queries):
    for user, body in [(org.rep, "I called twice."), (org.marketer, "The number was wrong.")]:
        client.force_login(user)
        client.post(reverse("breach-comment", args=[breach.pk]), {"body": body})
    assert list(BreachComment.objects.values_list("author__username", "body")) == [
        ("rep", "I called twice."),
        ("marketer", "The number was wrong."),
    ]
    with django_assert_max_num_queries(12):
        html = client.get(reverse("breach-detail", args=[breach.pk])).content.decode()
    assert html.index("I called twice.") < html.index("The number was wrong.")
    empty = client.post(reverse("breach-comment", args=[breach.pk]), {"body": ""})
    assert empty.status_code == 400
