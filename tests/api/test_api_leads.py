"""Leads through the API: push, clocks in the detail, touches, dispositions, filters,
and who may see or act on which lead."""

from __future__ import annotations

import pytest

from leads.models import Activity, Lead, Obligation

pytestmark = pytest.mark.services


def test_pushing_a_handed_off_lead_opens_its_clocks(sla, frozen, push_lead):
    answer = push_lead()

    assert answer.status_code == 201, answer.json()
    lead = answer.json()
    assert lead["stage"] == "mql"
    assert lead["handed_off_at"] == "2026-11-25T08:00:00Z"
    clocks = {c["kind"]: c for c in lead["open_obligations"]}
    # 4 business hours from Wed 09:00 Berlin: 13:00 Berlin (12:00 UTC); warned at 80 %.
    assert clocks["first_touch"]["due_at"] == "2026-11-25T12:00:00Z"
    assert clocks["first_touch"]["warn_at"] == "2026-11-25T11:12:00Z"
    assert clocks["first_touch"]["user"] == sla.rep.pk
    # One working day: Thursday 09:00 Berlin.
    assert clocks["disposition"]["due_at"] == "2026-11-26T08:00:00Z"
    assert [e["to_stage"] for e in lead["stage_events"]] == ["mql"]


def test_pushing_the_same_lead_again_changes_nothing(sla, frozen, push_lead):
    first = push_lead()
    again = push_lead()

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Obligation.objects.filter(lead_id=first.json()["id"]).count() == 2
    assert len(again.json()["stage_events"]) == 1


def test_a_touch_meets_the_first_touch_clock_and_opens_attempt_two(sla, frozen, push_lead, as_user):
    lead_id = push_lead().json()["id"]
    rep = as_user(sla.rep)

    touch = rep.post(
        "/api/v1/activities/",
        {
            "lead_source_system": "crm",
            "lead_external_id": "crm-1",
            "kind": "call",
            "occurred_at": "2026-11-25T09:30:00+01:00",  # after the hand-off, before 'now'
            "source_system": "crm",
            "external_id": "call-1",
        },
        format="json",
    )
    assert touch.status_code == 201, touch.json()
    assert touch.json()["user"] == sla.rep.pk

    met = rep.get(f"/api/v1/obligations/?lead={lead_id}&status=met").json()["results"]
    assert [(o["kind"], o["met_at"]) for o in met] == [("first_touch", "2026-11-25T08:30:00Z")]
    detail = rep.get(f"/api/v1/leads/{lead_id}/").json()
    # Attempt 2 is due a working day after the touch: Thursday 09:30 Berlin.
    assert {(c["kind"], c["attempt"], c["due_at"]) for c in detail["open_obligations"]} == {
        ("disposition", 1, "2026-11-26T08:00:00Z"),
        ("follow_up", 2, "2026-11-26T08:30:00Z"),
    }


def test_a_touch_sent_twice_is_logged_once(sla, frozen, push_lead, as_user):
    push_lead()
    rep = as_user(sla.rep)
    body = {
        "lead_source_system": "crm",
        "lead_external_id": "crm-1",
        "kind": "email",
        "occurred_at": "2026-11-25T10:00:00+01:00",
        "source_system": "crm",
        "external_id": "mail-7",
    }
    first = rep.post("/api/v1/activities/", body, format="json")
    again = rep.post("/api/v1/activities/", body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Activity.objects.filter(external_id="mail-7").count() == 1


def test_accept_reject_and_stage_actions(sla, frozen, push_lead, as_user):
    rep = as_user(sla.rep)
    a = push_lead("a").json()["id"]
    b = push_lead("b").json()["id"]

    accepted = rep.post(f"/api/v1/leads/{a}/accept/", {}, format="json")
    assert accepted.status_code == 200
    assert (accepted.json()["stage"], accepted.json()["accepted_at"]) == (
        "sal",
        "2026-11-25T09:00:00Z",
    )
    assert Obligation.objects.get(lead_id=a, kind="disposition").status == "met"

    no_reason = rep.post(f"/api/v1/leads/{b}/reject/", {}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["fields"] == {"reason": ["This field is required."]}
    rejected = rep.post(f"/api/v1/leads/{b}/reject/", {"reason": "No budget"}, format="json")
    assert rejected.json()["stage"] == "rejected"
    assert rejected.json()["rejection_reason"] == "No budget"
    assert rejected.json()["open_obligations"] == []

    moved = rep.post(f"/api/v1/leads/{a}/stage/", {"stage": "sql"}, format="json")
    assert moved.json()["stage"] == "sql"
    assert moved.json()["open_obligations"] == []  # a conversion stops the clocks
    twice = rep.post(f"/api/v1/leads/{a}/accept/", {}, format="json")
    assert twice.status_code == 400
    assert twice.json()["code"] == "invalid"


def test_list_filters(sla, frozen, push_lead, as_user):
    push_lead("a", tier="A", campaign="webinar")
    push_lead("b", tier="B", campaign="webinar", handed_off_at="2026-11-24T10:00:00+01:00")
    push_lead("c", tier="A", campaign="ebook", owner=sla.rep2.pk)
    rep = as_user(sla.rep)

    def ids(query: str) -> list[str]:
        answer = rep.get(f"/api/v1/leads/?{query}")
        assert answer.status_code == 200, answer.json()
        return sorted(lead["external_id"] for lead in answer.json()["results"])

    assert ids("tier=A") == ["a", "c"]
    assert ids("campaign=webinar") == ["a", "b"]
    assert ids(f"owner={sla.rep2.pk}") == ["c"]
    assert ids(f"team={sla.sales.pk}&stage=mql") == ["a", "b", "c"]
    assert ids("handed_off_before=2026-11-25T00:00:00Z") == ["b"]
    assert ids("handed_off_after=2026-11-25T00:00:00Z&tier=A") == ["a", "c"]
    assert ids("stage=sal") == []
    assert rep.get("/api/v1/leads/?handed_off_after=yesterday").status_code == 400


def test_a_member_of_another_team_gets_404(sla, frozen, push_lead, as_user, outsider):
    lead_id = push_lead().json()["id"]
    stranger = as_user(outsider)

    assert stranger.get(f"/api/v1/leads/{lead_id}/").status_code == 404
    assert stranger.post(f"/api/v1/leads/{lead_id}/accept/", {}, format="json").status_code == 404
    assert stranger.get("/api/v1/leads/").json()["count"] == 0
    assert stranger.get("/api/v1/obligations/").json()["count"] == 0
    # Nor can it overwrite the lead by pushing the same key.
    pushed = stranger.post(
        "/api/v1/leads/",
        {"source_system": "crm", "external_id": "crm-1", "name": "Mine now"},
        format="json",
    )
    assert pushed.status_code == 400
    assert Lead.objects.get(pk=lead_id).name == "Ada Lovelace"


def test_only_sales_accepts_and_staff_sees_everything(sla, frozen, push_lead, as_user):
    from tests.factories import make_user

    lead_id = push_lead().json()["id"]
    refused = as_user(sla.marketer).post(f"/api/v1/leads/{lead_id}/accept/", {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"

    staff = as_user(make_user("auditor", is_staff=True))
    assert staff.get(f"/api/v1/leads/{lead_id}/").status_code == 200


def test_lead_detail_and_list_use_few_queries(
    sla, frozen, push_lead, as_user, django_assert_max_num_queries
):
    for n in range(5):
        push_lead(f"q{n}")
    rep = as_user(sla.rep)
    lead_id = Lead.objects.first().pk
    with django_assert_max_num_queries(8):
        assert rep.get("/api/v1/leads/").json()["count"] == 5
    with django_assert_max_num_queries(8):
        assert rep.get(f"/api/v1/leads/{lead_id}/").status_code == 200


def test_patch_changes_fields_and_owner(sla, frozen, push_lead, as_user):
    lead_id = push_lead().json()["id"]
    answer = as_user(sla.sales_manager).patch(
        f"/api/v1/leads/{lead_id}/", {"company": "Analytical Engines", "owner": sla.rep2.pk}
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["company"] == "Analytical Engines"
    assert {c["user"] for c in answer.json()["open_obligations"]} == {sla.rep2.pk}


def test_a_touch_is_undone_by_its_author_and_not_by_a_colleague(sla, frozen, push_lead, as_user):
    lead_id = push_lead().json()["id"]
    touch = as_user(sla.rep).post(
        "/api/v1/activities/",
        {"lead": lead_id, "kind": "call", "occurred_at": "2026-11-25T09:30:00+01:00"},
        format="json",
    )
    assert touch.status_code == 201, touch.json()
    url = f"/api/v1/activities/{touch.json()['id']}/undo/"

    refused = as_user(sla.rep2).post(url, {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"

    undone = as_user(sla.rep).post(url, {"reason": "Wrong lead"}, format="json")
    assert undone.status_code == 200, undone.json()
    assert (undone.json()["kind"], undone.json()["reason"]) == ("call", "Wrong lead")
    detail = as_user(sla.rep).get(f"/api/v1/leads/{lead_id}/").json()
    # The first touch runs again (due 4 business hours after the 09:00 hand-off: 13:00).
    assert {(c["kind"], c["due_at"]) for c in detail["open_obligations"]} == {
        ("first_touch", "2026-11-25T12:00:00Z"),
        ("disposition", "2026-11-26T08:00:00Z"),
    }
    assert as_user(sla.rep).post(url, {}, format="json").status_code == 404
