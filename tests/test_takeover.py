"""The cross-team takeover, end to end: a manager of an unrelated marketing team starts an
agreement with another pair's sales team. A draft (or a one-sided signature) links nothing:
no leads, members, funnel or breaches of the other pair; none of its leads can be rejected
or re-owned through the upsert. Only the other side's signature puts the agreement in force.
The same rules hold for the paths that act for a configured user: inbound webhooks and
CSV imports."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import Import
from integrations.services import import_create, import_run, webhook_source_create
from leads import services as lead_services
from leads.models import Lead
from tests.test_permissions_matrix import make_pair

pytestmark = pytest.mark.services


@pytest.fixture
def pairs(require_postgres):
    now = timezone.now()
    a, b = make_pair("a", now), make_pair("b", now)
    for i in range(3):
        lead_services.lead_create(
            external_id=f"a-{i}",
            source_system="crm",
            name=f"A lead {i}",
            email=f"lead{i}@a.example",
            sales_team=a.sales,
            marketing_team=a.marketing,
            owner=a.users["rep"],
            handed_off_at=now - timedelta(minutes=10),
            now=now,
        )
    return a, b


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def what_b_sees(client: APIClient, a, agreement_id: int) -> dict:
    leads = client.get("/api/v1/leads/").json()["results"]
    teams = client.get("/api/v1/teams/").json()["results"]
    return {
        "leads": [lead["email"] for lead in leads if lead["email"].endswith("@a.example")],
        "teams": [t["name"] for t in teams if t["id"] in (a.sales.pk, a.marketing.pk)],
        "funnel": client.get(f"/api/v1/reports/funnel/?agreement={agreement_id}").status_code,
        "breaches": client.get(f"/api/v1/breaches/?team={a.sales.pk}").json()["count"],
    }


def test_a_draft_with_another_pairs_sales_team_links_nothing(pairs):
    a, b = pairs
    intruder = client_of(b.users["mm"])
    # A calendar of the other pair is not his to choose.
    refused = intruder.post(
        "/api/v1/agreements/",
        {
            "name": "Takeover",
            "marketing_team": b.marketing.pk,
            "sales_team": a.sales.pk,
            "calendar": a.sales.calendar_id,
        },
        format="json",
    )
    assert refused.status_code == 400
    created = intruder.post(
        "/api/v1/agreements/",
        {
            "name": "Takeover",
            "marketing_team": b.marketing.pk,
            "sales_team": a.sales.pk,
            "calendar": b.marketing.calendar_id,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    agreement_id = created.json()["id"]
    nothing = {"leads": [], "teams": [], "funnel": 400, "breaches": 0}
    assert what_b_sees(intruder, a, agreement_id) == nothing

    # Terms proposed and signed by his side only: still nothing.
    version = f"/api/v1/agreements/{agreement_id}/versions/1"
    body = {"kind": "lead_volume", "target": 10, "stage": "sql", "period": "month"}
    assert intruder.post(f"{version}/commitments/", body, format="json").status_code == 201
    assert intruder.post(f"{version}/propose/", {}, format="json").status_code == 200
    assert intruder.post(f"{version}/sign/", {}, format="json").status_code == 200
    assert what_b_sees(intruder, a, agreement_id) == nothing

    # Nor can he act on A's leads: reject one, or re-own it through the upsert.
    lead = Lead.objects.get(external_id="a-0")
    reject = intruder.post(f"/api/v1/leads/{lead.pk}/reject/", {"reason": "x"}, format="json")
    assert reject.status_code == 404
    upsert = intruder.post(
        "/api/v1/leads/",
        {
            "source_system": "crm",
            "external_id": "a-0",
            "owner": b.users["rep"].pk,
            "stage": "rejected",
            "rejection_reason": "x",
        },
        format="json",
    )
    assert upsert.status_code == 400
    lead.refresh_from_db()
    assert (lead.owner, lead.stage) == (a.users["rep"], "mql")
    # The sales side sees the proposal (it must be able to sign it), not B's data.
    victim = client_of(a.users["sm"])
    assert victim.get(f"/api/v1/agreements/{agreement_id}/").status_code == 200
    assert b.users["mk"].username not in victim.get("/api/v1/teams/").content.decode()

    # Only A's sales manager's signature puts it in force; then both sides see each other.
    assert victim.post(f"{version}/sign/", {}, format="json").status_code == 200
    now_linked = what_b_sees(intruder, a, agreement_id)
    assert len(now_linked["leads"]) == 3
    assert now_linked["teams"] == ["Sales a"]
    assert now_linked["funnel"] == 200


def test_owner_email_gives_no_hint_about_other_teams(pairs):
    a, b = pairs
    manager = client_of(a.users["sm"])
    answers = {
        email: manager.post(
            "/api/v1/leads/",
            {"source_system": "crm", "external_id": "a-1", "owner_email": email},
            format="json",
        ).json()
        for email in ("b_rep@example.com", "nobody@example.com")
    }
    assert answers["b_rep@example.com"] == answers["nobody@example.com"]
    assert "owner_email" in answers["nobody@example.com"]["fields"]
    ok = manager.post(
        "/api/v1/leads/",
        {"source_system": "crm", "external_id": "a-1", "owner_email": "A_REP2@example.com"},
        format="json",
    )
    assert ok.status_code == 200
    assert Lead.objects.get(external_id="a-1").owner == a.users["rep2"]


def _signed_post(source, secret, event: dict):
    body = json.dumps(event).encode()
    timestamp = int(timezone.now().timestamp())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return APIClient().post(
        f"/api/v1/inbound/{source.slug}/",
        body,
        content_type="application/json",
        HTTP_X_SLAHUB_TIMESTAMP=str(timestamp),
        HTTP_X_SLAHUB_SIGNATURE="sha256=" + digest.hexdigest(),
    )


def test_an_inbound_source_acts_as_its_run_as_user(pairs):
    a, b = pairs
    lead = Lead.objects.get(external_id="a-0")
    # Pair B's integration cannot write into pair A.
    source, secret = webhook_source_create(
        name="B's CRM", slug="b-crm", source_system="crm", run_as=b.users["mm"]
    )
    event = {
        "id": "1",
        "type": "lead.upsert",
        "data": {"external_id": "a-0", "owner": b.users["rep"].pk},
    }
    assert _signed_post(source, secret, event).status_code == 400
    touch = {
        "id": "2",
        "type": "activity.created",
        "data": {"lead": lead.pk, "kind": "call", "occurred_at": timezone.now().isoformat()},
    }
    assert _signed_post(source, secret, touch).status_code == 403
    # A rep's integration keeps a rep's rights: no re-owning, no touches as a colleague.
    source, secret = webhook_source_create(
        name="A rep's tool", slug="a-tool", source_system="crm", run_as=a.users["rep"]
    )
    event = {"id": "3", "type": "lead.upsert", "data": {"external_id": "a-0", "owner": None}}
    assert _signed_post(source, secret, event).status_code == 403
    touch["id"], touch["data"]["user"] = "4", a.users["rep2"].pk
    assert _signed_post(source, secret, touch).status_code == 403
    lead.refresh_from_db()
    assert lead.owner == a.users["rep"]
    assert not lead.activities.exists()


def test_an_import_acts_as_its_uploader(pairs):
    a, b = pairs
    now = timezone.now()
    csv = "Id,Stage,Reason\na-0,rejected,no-budget\n"
    record = import_create(
        user=a.users["mk"],
        content=csv,
        filename="x.csv",
        preset="custom",
        mapping={"external_id": "Id", "stage": "Stage", "rejection_reason": "Reason"},
        source_system="crm",
        sales_team=a.sales,
        marketing_team=None,
        now=now,
    )
    record = import_run(import_id=record.pk, now=now)
    assert (record.status, record.error_count) == (Import.Status.DONE, 1)
    assert "Only sales" in str(record.rows.get().errors)
    assert Lead.objects.get(external_id="a-0").stage == "mql"  # marketing never rejects
