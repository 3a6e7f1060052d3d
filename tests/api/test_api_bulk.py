"""POST /api/v1/leads/bulk/: per-item answers, idempotent re-sends, hand-offs and stage
changes through the lead services."""

from __future__ import annotations

import pytest

from leads.models import Lead, Obligation, StageEvent

pytestmark = pytest.mark.services


def _batch(sla) -> list[dict]:
    return [
        {
            "source_system": "hubspot",
            "external_id": "h-1",
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "sales_team": sla.sales.pk,
            "owner": sla.rep.pk,
            "handed_off_at": "2026-11-25T09:00:00+01:00",
        },
        {
            "source_system": "hubspot",
            "external_id": "h-2",
            "name": "Katherine Johnson",
            "sales_team": sla.sales.pk,
            "stage": "mql",
        },
        {"source_system": "hubspot", "name": "No key", "email": "not-an-email"},
        {
            "source_system": "hubspot",
            "external_id": "h-4",
            "name": "Rejected",
            "sales_team": sla.sales.pk,
            "stage": "rejected",
        },
    ]


def test_bulk_answers_per_item_and_keeps_good_items(sla, frozen, as_user):
    answer = as_user(sla.marketer).post(
        "/api/v1/leads/bulk/", {"leads": _batch(sla)}, format="json"
    )

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "error": 2}
    results = body["results"]
    assert [r["result"] for r in results] == ["created", "created", "error", "error"]
    assert results[2]["errors"] == {
        "external_id": ["This field is required."],
        "email": ["Enter a valid email address."],
    }
    assert results[3]["errors"] == {"rejection_reason": ["Give the reason for rejecting the lead."]}
    assert results[3]["id"] is None
    grace = Lead.objects.get(source_system="hubspot", external_id="h-1")
    assert results[0]["id"] == grace.pk
    assert set(grace.obligations.values_list("kind", flat=True)) == {"first_touch", "disposition"}
    assert Lead.objects.get(external_id="h-2").stage == "mql"


def test_resending_the_same_batch_changes_nothing(sla, frozen, as_user):
    client = as_user(sla.marketer)
    client.post("/api/v1/leads/bulk/", {"leads": _batch(sla)}, format="json")
    before = (Lead.objects.count(), Obligation.objects.count(), StageEvent.objects.count())

    again = client.post("/api/v1/leads/bulk/", {"leads": _batch(sla)}, format="json").json()

    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "error": 2}
    assert (Lead.objects.count(), Obligation.objects.count(), StageEvent.objects.count()) == before


def test_changed_items_are_updated_through_the_services(sla, frozen, as_user):
    client = as_user(sla.sales_manager)
    client.post("/api/v1/leads/bulk/", {"leads": _batch(sla)[:2]}, format="json")
    changed = _batch(sla)[:2]
    changed[0]["stage"] = "sal"  # acceptance: meets the disposition clock
    changed[1]["company"] = "NASA"

    answer = client.post("/api/v1/leads/bulk/", {"leads": changed}, format="json").json()

    assert [r["result"] for r in answer["results"]] == ["updated", "updated"]
    grace = Lead.objects.get(external_id="h-1")
    assert grace.stage == "sal"
    assert grace.accepted_at is not None
    assert grace.obligations.get(kind="disposition").status == "met"
    assert Lead.objects.get(external_id="h-2").company == "NASA"


def test_a_batch_over_1000_is_refused_whole(sla, frozen, as_user):
    leads = [{"external_id": f"x{n}", "name": "x", "sales_team": sla.sales.pk} for n in range(1001)]
    answer = as_user(sla.marketer).post("/api/v1/leads/bulk/", {"leads": leads}, format="json")

    assert answer.status_code == 400
    too_many = "Ensure this field has no more than 1000 elements."
    assert answer.json()["fields"] == {"leads": [too_many]}
    assert Lead.objects.count() == 0


def test_bulk_to_another_teams_sales_team_is_an_item_error(sla, frozen, as_user, outsider):
    answer = as_user(outsider).post(
        "/api/v1/leads/bulk/",
        {"leads": [{"external_id": "o-1", "name": "x", "sales_team": sla.sales.pk}]},
        format="json",
    )

    assert answer.json()["results"][0]["result"] == "error"
    assert "sales_team" in answer.json()["results"][0]["errors"]
    assert not Lead.objects.filter(external_id="o-1").exists()


def test_a_batch_reads_terms_and_calendars_once_not_per_lead(sla, frozen, as_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    items = [
        {
            "source_system": "hubspot",
            "external_id": f"many-{i}",
            "name": f"Lead {i}",
            "sales_team": sla.sales.pk,
            "owner": sla.rep.pk,
            "handed_off_at": "2026-11-25T09:00:00+01:00",
        }
        for i in range(12)
    ]
    with CaptureQueriesContext(connection) as queries:
        response = as_user(sla.marketer).post(
            "/api/v1/leads/bulk/", {"leads": items}, format="json"
        )
    assert [r["result"] for r in response.json()["results"]] == ["created"] * 12

    def reads(table: str) -> int:
        return sum(f'FROM "{table}"' in q["sql"] for q in queries.captured_queries)

    # Working hours, holidays and commitments: once for the batch, not twelve times.
    assert reads("agreements_workinghours") == 1
    assert reads("agreements_holiday") == 1
    assert reads("agreements_commitment") == 1
    # Every lead still has its own clocks, on the same terms as a single hand-off.
    clocks = Obligation.objects.filter(lead__external_id__startswith="many-")
    assert clocks.count() == 12 * 2  # first touch and disposition each
    assert len(set(clocks.values_list("due_at", flat=True))) == 2
