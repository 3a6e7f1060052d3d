"""Every free-text field of the API keeps to 2,000 characters: 2,001 is a 400 naming the
field (the API's error shape), 2,000 goes through."""

from __future__ import annotations

import pytest

from leads.models import Breach, Lead
from leads.services import lead_reject

pytestmark = pytest.mark.services

OK, TOO_LONG = "x" * 2000, "x" * 2001


@pytest.fixture
def breach(sla, frozen, push_lead, as_user):
    """A late first touch: handed off Tuesday 10:00 Berlin (due 14:00), touched Wednesday."""
    push_lead(handed_off_at="2026-11-24T10:00:00+01:00")
    as_user(sla.rep).post("/api/v1/activities/", touch(), format="json")
    return Breach.objects.get()


def touch(**fields) -> dict:
    return {
        "lead_source_system": "crm",
        "lead_external_id": "crm-1",
        "kind": "call",
        "occurred_at": "2026-11-25T09:30:00+01:00",
        **fields,
    }


def rejected(sla, now) -> Lead:
    lead = Lead.objects.get(external_id="crm-1")
    return lead_reject(lead=lead, reason="Bad fit", now=now)


def cases():
    """(name, who, url(sla, world), body(text), field)."""
    return [
        (
            "acknowledge",
            "rep",
            lambda s, w: f"/api/v1/breaches/{w}/acknowledge/",
            lambda t: {"note": t},
            "note",
        ),
        (
            "dispute",
            "rep",
            lambda s, w: f"/api/v1/breaches/{w}/dispute/",
            lambda t: {"reason": t},
            "reason",
        ),
        (
            "resolve",
            "marketing_manager",
            lambda s, w: f"/api/v1/breaches/{w}/resolve/",
            lambda t: {"resolution": "upheld", "note": t},
            "note",
        ),
        ("bulk acknowledge", "rep", lambda s, w: "/api/v1/breaches/acknowledge/", None, "note"),
        (
            "touch",
            "rep",
            lambda s, w: "/api/v1/activities/",
            lambda t: touch(note=t, occurred_at="2026-11-25T09:45:00+01:00"),
            "note",
        ),
        (
            "draft",
            "sales_manager",
            lambda s, w: f"/api/v1/agreements/{s.agreement.pk}/versions/",
            lambda t: {"summary": t},
            "summary",
        ),
        ("goal", "sales_manager", lambda s, w: "/api/v1/goals/", None, "notes"),
    ]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c[0])
def test_2001_characters_are_refused_2000_accepted(case, sla, breach, as_user):
    name, who, url, body, field = case
    if name == "bulk acknowledge":
        body = lambda t: {"breaches": [breach.pk], "note": t}  # noqa: E731
    if name == "goal":
        body = lambda t: {  # noqa: E731
            "agreement": sla.agreement.pk,
            "name": "Touch in time",
            "metric": "first_touch_pct",
            "target": "90.00",
            "period": "month",
            "starts_on": "2026-11-01",
            "notes": t,
        }
    client = as_user(getattr(sla, who))
    refused = client.post(url(sla, breach.pk), body(TOO_LONG), format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["code"] == "invalid"
    assert field in refused.json()["fields"]
    accepted = client.post(url(sla, breach.pk), body(OK), format="json")
    assert accepted.status_code in (200, 201), accepted.json()


def test_check_in_note(sla, frozen, as_user):
    from agreements.models import Goal

    goal = Goal.objects.create(
        agreement=sla.agreement, name="G", metric="first_touch_pct", target=90, period="month"
    )
    url = f"/api/v1/goals/{goal.pk}/check-ins/"
    body = {"on": "2026-11-25", "value": "84.50"}
    refused = as_user(sla.rep).post(url, {**body, "note": TOO_LONG}, format="json")
    assert refused.status_code == 400 and "note" in refused.json()["fields"]
    accepted = as_user(sla.rep).post(url, {**body, "note": OK}, format="json")
    assert accepted.status_code == 201


def test_contest_reason_and_decision_note(sla, frozen, now, push_lead, as_user):
    push_lead()
    lead = rejected(sla, now)
    manager = as_user(sla.marketing_manager)
    refused = manager.post(
        "/api/v1/contests/", {"lead": lead.pk, "reason": TOO_LONG}, format="json"
    )
    assert refused.status_code == 400 and "reason" in refused.json()["fields"]
    opened = manager.post("/api/v1/contests/", {"lead": lead.pk, "reason": OK}, format="json")
    assert opened.status_code == 201, opened.json()
    contest = opened.json()
    assert (contest["decision"], contest["rejection_reason"]) == ("", "Bad fit")
    url = f"/api/v1/contests/{contest['id']}/decide/"
    sales = as_user(sla.sales_manager)
    refused = sales.post(url, {"decision": "returned", "note": TOO_LONG}, format="json")
    assert refused.status_code == 400 and "note" in refused.json()["fields"]
    assert as_user(sla.rep).post(url, {"decision": "returned"}, format="json").status_code == 403
    decided = sales.post(url, {"decision": "returned", "note": OK}, format="json")
    assert decided.status_code == 200 and decided.json()["decision"] == "returned"
    # Both sides read it.
    listed = as_user(sla.marketer).get("/api/v1/contests/").json()
    assert [c["decision"] for c in listed["results"]] == ["returned"]


def test_bulk_acknowledge_reports_refusals(sla, breach, as_user):
    answer = as_user(sla.rep).post(
        "/api/v1/breaches/acknowledge/", {"breaches": [breach.pk, 10**12]}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "acknowledged": [breach.pk],
        "refused": {str(10**12): "No such breach among those you see."},
    }
    empty = as_user(sla.rep).post("/api/v1/breaches/acknowledge/", {"breaches": []}, format="json")
    assert empty.status_code == 400


def test_an_open_contest_needs_a_visible_lead(sla, frozen, as_user, outsider):
    answer = as_user(outsider).post("/api/v1/contests/", {"lead": 1, "reason": "x"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"lead": ["No such lead among those you see."]}
