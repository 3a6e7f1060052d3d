"""The Django admin moves clocks through the same services as every other interface."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads.models import Activity, Breach, Lead, Obligation
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def staff_client(client, django_user_model, org, now):
    add_commitment(org.version, "first_touch", within="PT1H")
    activate(org, now=now)
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(admin)
    return client


def test_every_model_lists_searches_and_filters(staff_client, org):
    make_lead(org, now=WEDNESDAY_10, handed_off_at=WEDNESDAY_10, company="Acme")
    for url in [
        "/admin/leads/lead/?q=acme&stage=mql",
        "/admin/leads/obligation/?status=open",
        "/admin/leads/breach/?side=sales",
        "/admin/leads/activity/",
        "/admin/agreements/agreement/",
        "/admin/agreements/agreementversion/?status=active",
        "/admin/agreements/commitment/?kind=first_touch",
        "/admin/agreements/team/?side=sales",
        "/admin/agreements/membership/",
        "/admin/agreements/businesscalendar/",
        "/admin/agreements/goal/",
        "/admin/agreements/rejectionreason/",
        "/admin/reports/rollupstate/",
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_a_touch_added_in_the_admin_meets_the_first_touch(staff_client, org):
    lead = make_lead(org, now=WEDNESDAY_10, handed_off_at=WEDNESDAY_10)
    with time_machine.travel(datetime(2026, 11, 25, 10, 40, tzinfo=BERLIN), tick=False):
        response = staff_client.post(
            "/admin/leads/activity/add/",
            {
                "lead": lead.pk,
                "kind": "call",
                "outcome": "attempted",
                "occurred_at_0": "2026-11-25",
                "occurred_at_1": "09:30:00",  # UTC: 10:30 in Berlin
                "user": org.rep.pk,
                "source_system": "",
                "external_id": "",
                "note": "",
            },
        )
    assert response.status_code == 302
    assert Activity.objects.filter(lead=lead).count() == 1
    first_touch = Obligation.objects.get(lead=lead)
    assert (first_touch.status, first_touch.met_at) == (
        "met",
        datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN),
    )


def test_changing_the_owner_in_the_admin_reassigns_open_clocks(staff_client, org):
    lead = make_lead(org, now=WEDNESDAY_10, handed_off_at=WEDNESDAY_10)
    data = {
        "source_system": lead.source_system,
        "external_id": lead.external_id,
        "name": lead.name,
        "score": 0,
        "owner": org.rep2.pk,
        "sales_team": org.sales.pk,
        "marketing_team": org.marketing.pk,
        "stage_events-TOTAL_FORMS": 0,
        "stage_events-INITIAL_FORMS": 0,
        "obligations-TOTAL_FORMS": 0,
        "obligations-INITIAL_FORMS": 0,
    }
    with time_machine.travel(datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN), tick=False):
        response = staff_client.post(f"/admin/leads/lead/{lead.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert Lead.objects.get(pk=lead.pk).owner == org.rep2
    assert Obligation.objects.get(lead=lead).user == org.rep2
    assert not Breach.objects.exists()


def test_a_touch_too_far_back_is_a_form_error_unless_staff_give_a_reason(staff_client, org):
    from leads.models import Backfill

    lead = make_lead(
        org,
        now=datetime(2026, 11, 2, 9, tzinfo=BERLIN),
        handed_off_at=datetime(2026, 11, 2, 9, tzinfo=BERLIN),
    )
    form = {
        "lead": lead.pk,
        "kind": "call",
        "outcome": "attempted",
        "occurred_at_0": "2026-11-02",
        "occurred_at_1": "09:30:00",  # 23 days before now, beyond the 7-day window
        "user": org.rep.pk,
        "source_system": "",
        "external_id": "",
        "note": "",
    }
    with time_machine.travel(datetime(2026, 11, 25, 10, 40, tzinfo=BERLIN), tick=False):
        refused = staff_client.post("/admin/leads/activity/add/", form)
        assert refused.status_code == 200
        assert "more than 7 days back" in refused.content.decode()
        assert not Activity.objects.filter(lead=lead).exists()
        done = staff_client.post(
            "/admin/leads/activity/add/", {**form, "backfill_reason": "CRM call log import"}
        )
    assert done.status_code == 302
    assert Activity.objects.filter(lead=lead).count() == 1
    assert Backfill.objects.get().reason == "CRM call log import"


def test_the_admin_keeps_a_manager_in_every_team(staff_client, org):
    from agreements.models import Membership

    membership = Membership.objects.get(team=org.sales, user=org.sales_manager)
    demote = staff_client.post(
        f"/admin/agreements/membership/{membership.pk}/change/",
        {"user": org.sales_manager.pk, "team": org.sales.pk, "role": "member"},
    )
    assert demote.status_code == 200  # the form again, with the error
    assert "is the last manager of Sales" in demote.content.decode()
    staff_client.post(
        f"/admin/agreements/membership/{membership.pk}/delete/", {"post": "yes"}, follow=True
    )
    membership.refresh_from_db()
    assert membership.role == "manager"
