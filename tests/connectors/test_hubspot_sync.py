"""The HubSpot connector against a local fake of the HubSpot API (pytest-httpserver) that
answers like the documented CRM search, owners, v4 associations and batch update endpoints:
two pages of contacts (the second first refused with a 429 and Retry-After), a call on a
deleted contact, an incoming email, a won deal; then a second run from the stored cursor,
a crash mid-run, and a revoked token.

The expected values, worked by hand (now = 09:00 UTC, clocks in calendar time):
- contact 501 Ada, MQL at 07:30 → handed off 07:30, first touch due 08:30; her call at
  07:50 (connected) meets it → write-back: no first touch due, status 'due' (the
  disposition clock runs);
- contact 502 Bob, MQL at 07:00 → first touch due 08:00, no touch, past due at 09:00 →
  'missed', first touch due 2026-11-25T08:00:00Z;
- contact 503 Cy, a plain lead (no MQL date) → no clocks, nothing written; his deal is won
  at 08:40 for 1200.50 → stage won at 08:40.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from werkzeug import Response

from connectors import crypto
from connectors.models import Connector, Deal, SyncRun
from connectors.sync import sync_run
from leads.models import Activity, Lead, StageEvent
from tests.connectors.conftest import NOW

pytestmark = pytest.mark.services

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


def contact(pk, first, last, email, stage, modified, mql=None):
    properties = {
        "firstname": first,
        "lastname": last,
        "email": email,
        "company": "Acme",
        "jobtitle": "CTO",
        "phone": "+49 30 1234",
        "country": "Germany",
        "lifecyclestage": stage,
        "hubspot_owner_id": "101",
        "lastmodifieddate": modified,
        "hs_object_id": pk,
    }
    if mql:
        properties["hs_lifecyclestage_marketingqualifiedlead_date"] = mql
    return {
        "id": pk,
        "properties": properties,
        "createdAt": "2026-11-25T06:00:00.000Z",
        "updatedAt": modified,
        "archived": False,
    }


def engagement(pk, modified, **properties):
    return {
        "id": pk,
        "properties": {"hs_lastmodifieddate": modified, "hubspot_owner_id": "101", **properties},
        "createdAt": modified,
        "updatedAt": modified,
        "archived": False,
    }


class FakeHubSpot:
    """Serves the documented shapes; `log` keeps (path, JSON body) of each request."""

    def __init__(self, server):
        self.server, self.log, self.refuse_once = server, [], {"contacts:2"}
        self.token = TOKEN
        self.pages = {
            "contacts": [
                [
                    contact(
                        "501",
                        "Ada",
                        "Lovelace",
                        "ada@acme.example",
                        "marketingqualifiedlead",
                        "2026-11-25T07:31:00.000Z",
                        mql="2026-11-25T07:30:00.000Z",
                    ),
                    contact(
                        "502",
                        "Bob",
                        "Byte",
                        "bob@acme.example",
                        "marketingqualifiedlead",
                        "2026-11-25T07:32:00.000Z",
                        mql="2026-11-25T07:00:00.000Z",
                    ),
                ],
                [
                    contact(
                        "503",
                        "Cy",
                        "Press",
                        "cy@acme.example",
                        "lead",
                        "2026-11-25T08:45:00.000Z",
                    )
                ],
            ],
            "calls": [
                [
                    engagement(
                        "9001",
                        "2026-11-25T07:51:00.000Z",
                        hs_timestamp="2026-11-25T07:50:00Z",
                        hs_call_title="Intro call",
                        hs_call_disposition="f240bbac-87c9-4f6e-bf70-924b57d47db7",
                    ),
                    engagement(
                        "9002",
                        "2026-11-25T07:52:00.000Z",
                        hs_timestamp="2026-11-25T07:52:00Z",
                        hs_call_title="Call to a contact deleted since",
                    ),
                ]
            ],
            "emails": [
                [
                    engagement(
                        "7001",
                        "2026-11-25T08:01:00.000Z",
                        hs_timestamp="2026-11-25T08:00:00Z",
                        hs_email_subject="Re: pricing",
                        hs_email_direction="INCOMING_EMAIL",
                    )
                ]
            ],
            "meetings": [[]],
            "deals": [
                [
                    {
                        "id": "3001",
                        "properties": {
                            "dealname": "Acme platform",
                            "dealstage": "closedwon",
                            "amount": "1200.50",
                            "closedate": "2026-11-25T08:40:00Z",
                            "hs_lastmodifieddate": "2026-11-25T08:41:00.000Z",
                        },
                        "createdAt": "2026-11-25T08:00:00.000Z",
                        "updatedAt": "2026-11-25T08:41:00.000Z",
                        "archived": False,
                    }
                ]
            ],
        }
        self.associations = {("calls", "9001"): ["501"], ("deals", "3001"): ["503"]}
        server.expect_request("/crm/v3/owners/", method="GET").respond_with_handler(self.owners)
        for name in self.pages:
            server.expect_request(
                f"/crm/v3/objects/{name}/search", method="POST"
            ).respond_with_handler(lambda request, name=name: self.search(request, name))
        for name in ("calls", "emails", "meetings", "deals"):
            server.expect_request(
                f"/crm/v4/associations/{name}/contacts/batch/read", method="POST"
            ).respond_with_handler(lambda request, name=name: self.linked(request, name))
        server.expect_request(
            "/crm/v3/objects/contacts/batch/update", method="POST"
        ).respond_with_handler(self.update)

    def _refused(self, request):
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            body = {
                "status": "error",
                "message": "Authentication credentials not found.",
                "correlationId": "c0ffee00-0000-0000-0000-000000000001",
                "category": "INVALID_AUTHENTICATION",
            }
            return Response(json.dumps(body), status=401, content_type="application/json")
        return None

    def search(self, request, name):
        body = request.get_json()
        self.log.append((request.path, body))
        if refused := self._refused(request):
            return refused
        index = int(body.get("after") or 0) // 100
        key = f"{name}:{index + 1}"
        if key in self.refuse_once:
            self.refuse_once.discard(key)
            error = {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "c0ffee00-0000-0000-0000-000000000002",
                "policyName": "SECONDLY",
            }
            return Response(
                json.dumps(error),
                status=429,
                headers={"Retry-After": "1"},
                content_type="application/json",
            )
        pages = self.pages[name]
        results = pages[index] if index < len(pages) else []
        answer = {"total": sum(len(p) for p in pages), "results": results}
        if index + 1 < len(pages):
            after = str((index + 1) * 100)
            answer["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return Response(json.dumps(answer), content_type="application/json")

    def owners(self, request):
        self.log.append((request.path, None))
        if refused := self._refused(request):
            return refused
        owner = {
            "id": "101",
            "email": "REP@example.com",
            "firstName": "Rita",
            "lastName": "Rep",
            "userId": 9101,
            "createdAt": "2025-01-01T00:00:00Z",
            "updatedAt": "2025-01-01T00:00:00Z",
            "archived": False,
        }
        return Response(json.dumps({"results": [owner]}), content_type="application/json")

    def linked(self, request, name):
        body = request.get_json()
        self.log.append((request.path, body))
        results = []
        for item in body["inputs"]:
            to = self.associations.get((name, item["id"]), [])
            if to:  # a deleted contact's associations are gone with it
                results.append(
                    {
                        "from": {"id": item["id"]},
                        "to": [
                            {
                                "toObjectId": int(pk),
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 194, "label": None}
                                ],
                            }
                            for pk in to
                        ],
                    }
                )
        answer = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2026-11-25T09:00:00.000Z",
            "completedAt": "2026-11-25T09:00:00.100Z",
        }
        return Response(json.dumps(answer), content_type="application/json")

    def update(self, request):
        body = request.get_json()
        self.log.append((request.path, body))
        results = [
            {
                "id": item["id"],
                "properties": item["properties"],
                "createdAt": "2026-11-25T06:00:00.000Z",
                "updatedAt": "2026-11-25T09:00:00.000Z",
                "archived": False,
            }
            for item in body["inputs"]
        ]
        answer = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2026-11-25T09:00:00.000Z",
            "completedAt": "2026-11-25T09:00:00.100Z",
        }
        return Response(json.dumps(answer), content_type="application/json")

    def calls(self, path):
        return [body for p, body in self.log if p == path]


@pytest.fixture
def fake(httpserver):
    return FakeHubSpot(httpserver)


@pytest.fixture
def connector(world, httpserver):
    return Connector.objects.create(
        kind="hubspot",
        sales_team=world.sales,
        marketing_team=world.marketing,
        run_as=world.bot,
        credentials=crypto.seal({"token": TOKEN}),
        settings={
            "api_base": httpserver.url_for("/").rstrip("/"),
            "stage_map": {
                "lead": "new",
                "marketingqualifiedlead": "mql",
                "closedwon": "won",
                "closedlost": "lost",
            },
            "writeback": {"first_touch_due": "sla_first_touch_due", "sla_status": "sla_status"},
        },
        created_at=NOW,
    )


def run_sync(connector, waits=None, **kwargs):
    from connectors.sync import adapter_for

    run = SyncRun.objects.create(connector=connector, created_at=NOW)
    sleep = waits.append if waits is not None else (lambda s: None)
    adapter = adapter_for(connector, sleep=sleep)
    return sync_run(run_id=run.pk, clock=lambda: NOW, adapter=adapter, **kwargs)


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_it_pulls_leads_touches_and_deals_and_writes_the_clock_back(fake, connector, world):
    waits = []
    run = run_sync(connector, waits)

    assert run.status == "done", run.error
    assert waits == [1.0]  # the 429's Retry-After, waited once
    assert (run.pages, run.fetched, run.created, run.updated, run.skipped) == (6, 7, 5, 0, 2)
    skips = sorted(run.skips.values_list("object_type", "external_id", "reason"))
    assert skips == [
        ("calls", "calls:9002", "Not linked to a lead synced from HubSpot."),
        ("emails", "emails:7001", "An incoming or forwarded email is not a touch."),
    ]

    ada = Lead.objects.get(source_system="hubspot", external_id="501")
    assert (ada.name, ada.email, ada.country, ada.owner, ada.stage) == (
        "Ada Lovelace",
        "ada@acme.example",
        "DE",
        world.rep,
        "mql",
    )
    assert ada.handed_off_at == at("2026-11-25T07:30")
    call = Activity.objects.get(lead=ada)
    assert (call.kind, call.outcome, call.occurred_at, call.user, call.external_id) == (
        "call",
        "connected",
        at("2026-11-25T07:50"),
        world.rep,
        "calls:9001",
    )
    first_touch = ada.obligations.get(kind="first_touch")
    assert (first_touch.status, first_touch.met_at) == ("met", at("2026-11-25T07:50"))

    cy = Lead.objects.get(source_system="hubspot", external_id="503")
    assert cy.stage == "won" and cy.handed_off_at is None
    assert StageEvent.objects.get(lead=cy, to_stage="won").occurred_at == at("2026-11-25T08:40")
    deal = Deal.objects.get(external_id="3001")
    assert (deal.lead, deal.amount, deal.crm_stage) == (cy, Decimal("1200.50"), "closedwon")

    [update] = fake.calls("/crm/v3/objects/contacts/batch/update")
    assert sorted(update["inputs"], key=lambda i: i["id"]) == [
        {"id": "501", "properties": {"sla_first_touch_due": "", "sla_status": "due"}},
        {
            "id": "502",
            "properties": {"sla_first_touch_due": "2026-11-25T08:00:00Z", "sla_status": "missed"},
        },
    ]
    assert run.written_back == 2


def test_the_next_run_starts_from_the_stored_cursor_and_doubles_nothing(fake, connector):
    run_sync(connector)
    fake.log.clear()
    second = run_sync(connector)

    assert second.status == "done"
    assert (second.created, second.updated, second.written_back) == (0, 0, 0)
    searches = {p: b for p, b in fake.log if p.endswith("/search")}
    since = searches["/crm/v3/objects/contacts/search"]["filterGroups"][0]["filters"][0]
    # The last modification seen, 08:45:00 UTC, in milliseconds: GTE, so none is missed.
    assert since == {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": str(int(at("2026-11-25T08:45").timestamp() * 1000)),
    }
    assert Lead.objects.filter(source_system="hubspot").count() == 3
    assert Activity.objects.filter(source_system="hubspot").count() == 1
    assert Deal.objects.count() == 1
    assert fake.calls("/crm/v3/objects/contacts/batch/update") == []


def test_a_crash_mid_page_redoes_exactly_that_page(fake, connector, monkeypatch):
    from connectors import sync

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    original = sync._apply_touches
    monkeypatch.setattr(sync, "_apply_touches", crash)
    with pytest.raises(RuntimeError):
        run_sync(connector)
    run = SyncRun.objects.get()
    assert run.status == "running" and (run.pages, run.created) == (2, 3)  # the two contact pages
    assert connector.__class__.objects.get().cursor["phase"] == 1  # calls: not applied

    monkeypatch.setattr(sync, "_apply_touches", original)
    from connectors.sync import adapter_for

    resumed = sync_run(run_id=run.pk, clock=lambda: NOW, adapter=adapter_for(connector))
    assert resumed.status == "done"
    assert (resumed.pages, resumed.fetched, resumed.created, resumed.skipped) == (6, 7, 5, 2)
    assert Activity.objects.filter(source_system="hubspot").count() == 1


def test_a_refused_token_fails_the_run_with_a_clear_message_and_no_secret(fake, connector, caplog):
    fake.token = "pat-na1-rotated"
    run = run_sync(connector)

    assert run.status == "failed"
    assert run.error == (
        "HubSpot refused the private app token (401): paste a valid token on the page."
    )
    assert TOKEN not in caplog.text and TOKEN not in run.error
    assert not Lead.objects.exists()
    assert Connector.objects.get().cursor == {}


def test_the_won_deal_is_the_funnels_won_amount(fake, connector, world):
    """Cy's deal 3001, "closedwon" (won in the connector's stage table) for 1200.50, makes
    the November funnel's won amount 1200.50: Cy came through the connector, whose
    marketing team makes him marketing-sourced, and entered the funnel (won) on 25 Nov."""
    from reports import metrics
    from reports.selectors import agreements_filter

    run_sync(connector)
    cy = Lead.objects.get(source_system="hubspot", external_id="503")
    assert cy.marketing_team == world.marketing
    f = agreements_filter(
        [world.agreement], now=NOW, start=datetime(2026, 11, 1).date(), end=NOW.date()
    )
    rows, total = metrics.funnel(f, "campaign")
    assert total.counts["won"] == 1
    assert total.won_amount == Decimal("1200.50")
    assert [(r.group, r.won_amount) for r in rows if r.counts["won"]] == [
        (cy.campaign, Decimal("1200.50"))
    ]
