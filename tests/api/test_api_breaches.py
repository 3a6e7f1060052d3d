"""Breaches through the API: the breached side acknowledges or disputes, only the other
side's manager resolves; other teams see nothing."""

from __future__ import annotations

import pytest

from leads.models import Breach

pytestmark = pytest.mark.services


@pytest.fixture
def breach(sla, frozen, push_lead, as_user):
    """A late first touch: handed off Tuesday 10:00 Berlin (due 14:00), touched Wednesday."""
    push_lead(handed_off_at="2026-11-24T10:00:00+01:00")
    touch = as_user(sla.rep).post(
        "/api/v1/activities/",
        {
            "lead_source_system": "crm",
            "lead_external_id": "crm-1",
            "kind": "call",
            "occurred_at": "2026-11-25T09:30:00+01:00",
        },
        format="json",
    )
    assert touch.status_code == 201, touch.json()
    return Breach.objects.get()


def test_a_late_touch_is_a_breach_attributed_to_the_owner(sla, breach, as_user):
    listed = as_user(sla.marketer).get("/api/v1/breaches/?status=open&side=sales").json()

    assert listed["count"] == 1
    item = listed["results"][0]
    assert (item["kind"], item["team"], item["user"]) == ("first_touch", sla.sales.pk, sla.rep.pk)
    assert item["due_at"] == "2026-11-24T13:00:00Z"


def test_acknowledge_dispute_resolve(sla, breach, as_user):
    url = f"/api/v1/breaches/{breach.pk}"
    assert as_user(sla.marketer).post(f"{url}/acknowledge/", {}, format="json").status_code == 403
    acknowledged = as_user(sla.rep).post(
        f"{url}/acknowledge/", {"note": "Was at a conference"}, format="json"
    )
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["acknowledged_by"] == sla.rep.pk

    no_reason = as_user(sla.rep).post(f"{url}/dispute/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["fields"] == {"reason": ["This field may not be blank."]}
    disputed = as_user(sla.rep).post(
        f"{url}/dispute/", {"reason": "The phone number was wrong"}, format="json"
    )
    assert disputed.json()["status"] == "disputed"

    own_side = as_user(sla.sales_manager).post(
        f"{url}/resolve/", {"resolution": "waived"}, format="json"
    )
    assert own_side.status_code == 403
    assert own_side.json()["detail"] == "Only a manager of the other side resolves a breach."
    resolved = as_user(sla.marketing_manager).post(
        f"{url}/resolve/", {"resolution": "waived", "note": "Fair"}, format="json"
    )
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "waived")


def test_another_team_gets_404_on_breaches(sla, breach, as_user, outsider):
    stranger = as_user(outsider)
    assert stranger.get(f"/api/v1/breaches/{breach.pk}/").status_code == 404
    answer = stranger.post(f"/api/v1/breaches/{breach.pk}/acknowledge/", {}, format="json")
    assert answer.status_code == 404
    assert answer.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "Not found.",
        "fields": {},
    }
