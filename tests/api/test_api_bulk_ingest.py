"""Set-based ingestion: new leads of a bulk upsert or a CSV import are written in bulk, in a
number of queries that does not grow with the batch, with exactly the rows (clocks, stage
events, backfills, rollup marks, webhook deliveries) that creating them one by one writes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.batch import batch
from agreements.models import Agreement, Commitment, Membership, Side, Team
from agreements.services import agreement_version_draft
from integrations import services
from integrations.models import WebhookDelivery
from leads import bounds
from leads.models import Backfill, Lead, Obligation, StageEvent
from reports.models import StaleLead
from tests.factories import LONG_AGO, activate, add_commitment, make_calendar, make_user

pytestmark = pytest.mark.services

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
V2_FROM = datetime(2026, 11, 24, 12, 0, tzinfo=BERLIN)  # Tuesday noon
WED_9 = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)  # an hour before `now`


@pytest.fixture
def terms(sla):
    """Version 1 (in force since 2025): first touch within 4 business hours, within 1 for
    tier A (matched first). Version 2 from Tuesday noon: first touch within 2 business hours
    (tier A unchanged). A second sales team, East, in New York hours: first touch within 8
    business hours, under its own agreement with the same marketing team."""
    Commitment.objects.filter(version=sla.version, kind="first_touch").update(order=2)
    add_commitment(
        sla.version, "first_touch", within="PT1H", clock="business", applies_to={"tier": ["A"]}
    )
    v2 = agreement_version_draft(agreement=sla.agreement)
    v2.commitments.filter(kind="first_touch", order=2).update(within="PT2H")
    activate(sla, now=V2_FROM, version=v2)
    east = Team.objects.create(
        name="East", side=Side.SALES, calendar=make_calendar("New York", "America/New_York")
    )
    rep3 = make_user("rep3")
    Membership.objects.create(team=east, user=rep3, role=Membership.Role.MEMBER)
    Membership.objects.create(team=east, user=sla.sales_manager, role=Membership.Role.MANAGER)
    agreement = Agreement.objects.create(
        name="Marketing ↔ East",
        marketing_team=sla.marketing,
        sales_team=east,
        calendar=east.calendar,
    )
    east_v1 = agreement_version_draft(agreement=agreement)
    add_commitment(east_v1, "first_touch", within="PT8H", clock="business")
    activate(sla, now=LONG_AGO, version=east_v1)
    sla.east, sla.rep3, sla.v2 = east, rep3, v2
    return sla


def _items(org, source: str) -> list[dict]:
    """A mixed batch: new leads (two teams, two owners, a tier, a hand-off before version
    2, one without hand-off, a staff backfill), updates, a key sent twice, bad items."""

    def lead(external_id, **fields):
        data = {
            "source_system": source,
            "external_id": external_id,
            "name": f"Lead {external_id}",
            "sales_team": org.sales,
            "marketing_team": org.marketing,
            "owner": org.rep,
            **fields,
        }
        return {"data": {k: v for k, v in data.items() if v is not None}}

    return [
        lead("n-plain", handed_off_at=WED_9),
        lead(
            "n-tier-a",
            handed_off_at=WED_9 + timedelta(minutes=30),
            tier="A",
            owner=None,
            owner_email="rep2@example.com",
        ),
        lead("n-before-v2", handed_off_at=datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)),
        lead("n-not-handed-off", company="Acme"),
        lead("n-east", sales_team=org.east, owner=org.rep3, handed_off_at=WED_9),
        lead("old-changed", company="New name"),
        lead("old-same"),
        {"errors": {"email": ["Enter a valid email address."]}},
        lead("n-owner-elsewhere", owner=org.rep3, handed_off_at=WED_9),
        lead("n-future", handed_off_at=WED_9 + timedelta(days=1)),
        lead("n-plain", company="Sent twice"),
        lead("n-accepted", handed_off_at=WED_9, stage="sal"),
        lead("n-backfilled", handed_off_at=WED_9 - timedelta(days=10)),
        lead("n-unrouted", sales_team=None, handed_off_at=WED_9),
    ]


def _upsert_one_by_one(items, *, now, user):
    """The per-lead path the bulk one must match: each item on its own."""
    with batch():
        return [services._upsert_item(item, now=now, user=user) for item in items]


def _written(source: str) -> dict:
    """Everything the upserts of `source` wrote, keyed by external id instead of row ids."""
    leads = Lead.objects.filter(source_system=source)
    key = dict(leads.values_list("pk", "external_id"))
    obligations = Obligation.objects.filter(lead__in=leads)
    fields = ["kind", "attempt", "status", "side", "starts_at", "warn_at", "due_at"]
    ids = ["user_id", "team_id", "commitment_id", "agreement_version_id"]
    clocks = sorted(
        (key[o["lead_id"]], *(o[f] for f in fields + ids))
        for o in obligations.values("lead_id", *fields, *ids)
    )
    deliveries = []
    for d in WebhookDelivery.objects.filter(payload__data__source_system=source):
        data = dict(d.payload["data"])
        data["id"] = key[data["id"]]
        assert data.pop("source_system") == source
        data["open_obligations"] = [
            {k: v for k, v in o.items() if k != "id"} for o in data["open_obligations"]
        ]
        deliveries.append((d.subscription_id, d.event, d.status, data))
    return {
        "leads": sorted(
            (key[row[0]], *row[1:])
            for row in leads.values_list(
                "pk",
                "name",
                "company",
                "tier",
                "stage",
                "owner_id",
                "sales_team_id",
                "marketing_team_id",
                "handed_off_at",
                "agreement_version_id",
                "accepted_at",
            )
        ),
        "clocks": clocks,
        "stage_events": sorted(
            (key[row[0]], *row[1:])
            for row in StageEvent.objects.filter(lead__in=leads).values_list(
                "lead_id", "from_stage", "to_stage", "occurred_at", "user_id", "note"
            )
        ),
        "backfills": sorted(
            (key[row[0]], *row[1:])
            for row in Backfill.objects.filter(lead__in=leads).values_list(
                "lead_id", "field", "occurred_at", "user_id", "reason"
            )
        ),
        "marked": sorted(
            key[pk] for pk in StaleLead.objects.values_list("lead_id", flat=True) if pk in key
        ),
        "deliveries": sorted(deliveries, key=lambda d: (d[3]["external_id"], d[0])),
    }


def _answers(outcomes) -> list:
    return [
        (o["result"], o["lead"].external_id if o["lead"] else None, o["errors"]) for o in outcomes
    ]


@pytest.mark.parametrize("staff", [False, True], ids=["marketer", "staff-backfill"])
def test_bulk_writes_exactly_what_one_by_one_writes(terms, now, frozen, staff, monkeypatch):
    org = terms
    in_bulk = []
    write = services.lead_ingest.create

    def spy(planned, **kwargs):
        in_bulk.extend(p.lead.external_id for p in planned)
        return write(planned, **kwargs)

    monkeypatch.setattr(services.lead_ingest, "create", spy)
    user = make_user("admin", is_staff=True) if staff else org.marketer
    services.webhook_subscription_create(
        owner=make_user("hooks", is_staff=True),
        url="https://hooks.example.com/in",
        events=["lead.handed_off"],
    )
    for source in ("one", "many"):
        for external_id in ("old-changed", "old-same"):
            services.lead_upsert(
                data=_items(org, source)[6]["data"] | {"external_id": external_id},
                now=now,
                user=org.marketer,
            )
    StaleLead.objects.all().delete()

    with bounds.backfill("CRM migration" if staff else "", by=user):
        one = _upsert_one_by_one(_items(org, "one"), now=now, user=user)
        many = services.lead_upsert_many(_items(org, "many"), now=now, user=user)

    assert _answers(many) == _answers(one)
    assert _written("many") == _written("one")
    # The new leads that pass their checks went through the bulk write, the rest one by one.
    assert in_bulk == ["n-plain", "n-tier-a", "n-before-v2", "n-not-handed-off", "n-east"] + (
        ["n-backfilled"] if staff else []
    )
    # Hand-worked: what a user sees of that batch.
    results = [o["result"] for o in many]
    # Accepting (a stage after the hand-off) and backfilling are staff's here, not the
    # marketer's; the unrouted lead has two sales teams to choose from.
    by_staff = "created" if staff else "error"
    assert results == [
        "created",
        "created",
        "created",
        "created",
        "created",
        "updated",
        "unchanged",
        "error",
        "error",
        "error",
        "updated",
        by_staff,
        by_staff,
        "error",
    ]
    due = dict(
        Obligation.objects.filter(lead__source_system="many", kind="first_touch").values_list(
            "lead__external_id", "due_at"
        )
    )
    assert due["n-plain"] == datetime(2026, 11, 25, 11, 0, tzinfo=BERLIN)  # v2: 2 hours
    assert due["n-tier-a"] == datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)  # tier A: 1 hour
    assert due["n-before-v2"] == datetime(2026, 11, 24, 13, 0, tzinfo=BERLIN)  # v1: 4 hours
    # East: 03:00 in New York, so the 8 hours run from 09:00 to 17:00 New York time.
    assert due["n-east"] == datetime(2026, 11, 25, 17, 0, tzinfo=NEW_YORK)
    tier_a = Obligation.objects.get(
        lead__external_id="n-tier-a", lead__source_system="many", kind="first_touch"
    )
    assert tier_a.user == org.rep2
    if staff:
        # Handed off on Sunday the 15th: the 4 business hours run Monday 09:00-13:00.
        assert due["n-backfilled"] == datetime(2026, 11, 16, 13, 0, tzinfo=BERLIN)
        assert Backfill.objects.filter(lead__source_system="many").count() == 1
    # One lead.handed_off delivery per lead created handed off (four; staff: six).
    assert WebhookDelivery.objects.filter(payload__data__source_system="many").count() == (
        6 if staff else 4
    )


def _bulk_body(org, n: int, prefix: str) -> dict:
    return {
        "leads": [
            {
                "source_system": "crm",
                "external_id": f"{prefix}-{i}",
                "name": f"Lead {i}",
                "sales_team": org.sales.pk,
                "marketing_team": org.marketing.pk,
                "owner": org.rep.pk,
                "handed_off_at": "2026-11-25T09:00:00+01:00",
            }
            for i in range(n)
        ]
    }


def test_a_bulk_call_costs_the_same_queries_for_10_and_200_new_leads(sla, frozen, as_user):
    client = as_user(sla.marketer)
    services.webhook_subscription_create(
        owner=sla.marketer, url="https://hooks.example.com/in", events=["lead.handed_off"]
    )
    client.get("/api/v1/teams/")  # the token's first use is noted once
    counts = []
    for n, prefix in ((10, "small"), (200, "large")):
        with CaptureQueriesContext(connection) as queries:
            answer = client.post("/api/v1/leads/bulk/", _bulk_body(sla, n, prefix), format="json")
        assert answer.json()["counts"]["created"] == n
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert Obligation.objects.filter(lead__external_id__startswith="large-").count() == 400
    assert WebhookDelivery.objects.count() == 210


def test_an_import_chunk_costs_the_same_queries_for_10_and_200_rows(sla, now, frozen, as_user):
    client = as_user(sla.marketer)
    counts = []
    for n in (10, 200):
        content = "Id,Name,Email,Handed off\n" + "".join(
            f"{n}-{i},Lead {i},lead{i}@example.com,2026-11-25T09:00:00+01:00\n" for i in range(n)
        )
        answer = client.post(
            "/api/v1/imports/",
            {
                "file": SimpleUploadedFile("leads.csv", content.encode(), "text/csv"),
                "preset": "custom",
                "mapping": '{"external_id": "Id", "name": "Name", "email": "Email", '
                '"handed_off_at": "Handed off"}',
                "sales_team": sla.sales.pk,
            },
            format="multipart",
        )
        with CaptureQueriesContext(connection) as queries:
            chunk = services.import_run_chunk(import_id=answer.json()["id"], now=now)
        assert (chunk.status, chunk.record.created_count) == ("done", n)
        assert Obligation.objects.filter(lead__external_id__startswith=f"{n}-").count() == 2 * n
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_a_key_taken_meanwhile_sends_the_chunk_one_by_one(sla, now, frozen, monkeypatch):
    """Another request created one of the keys after this chunk read the existing ones: the
    bulk write fails whole on the unique key, and each item then answers on its own."""
    items = [
        {
            "data": {
                "source_system": "crm",
                "external_id": external_id,
                "name": "Ada",
                "sales_team": sla.sales,
                "owner": sla.rep,
                "handed_off_at": WED_9,
            }
        }
        for external_id in ("race-1", "race-2")
    ]
    services.lead_upsert(data=items[1]["data"], now=now, user=sla.marketer)
    monkeypatch.setattr(services, "_existing_keys", lambda keys: set())

    outcomes = services.lead_upsert_many(items, now=now, user=sla.marketer)

    assert [o["result"] for o in outcomes] == ["created", "unchanged"]
    assert Lead.objects.filter(source_system="crm").count() == 2
    first_touch = Obligation.objects.get(lead__external_id="race-1", kind="first_touch")
    assert first_touch.due_at == datetime(2026, 11, 25, 13, 0, tzinfo=BERLIN)
    assert Obligation.objects.filter(lead__external_id="race-2").count() == 2


# What COPY changes: text is written in COPY's text format (tabs, newlines, backslashes,
# `\N` escaped), NULLs as `\N`, times as UTC instants. Each value must come back exactly.
TRICKY = {
    "tab": "Tab\there",
    "lines": "Line one\nline two\r\nline three\r",
    "backslashes": "C:\\temp\\new \\N \\t \\\\ end\\",
    "null-word": "\\N",
    "unicode": "Zoë Ångström — 東京 😀",
}
REASON = "CRM\tmigration\nbatch \\2 — ü"
KOLKATA = ZoneInfo("Asia/Kolkata")
UTC = ZoneInfo("UTC")


def _tricky_items(org, source: str) -> list[dict]:
    def lead(external_id, **fields):
        data = {
            "source_system": source,
            "external_id": external_id,
            "name": f"Lead {external_id}",
            "sales_team": org.sales,
            "marketing_team": org.marketing,
            "owner": org.rep,
            "handed_off_at": WED_9,
            **fields,
        }
        return {"data": {k: v for k, v in data.items() if v is not None}}

    return [
        *(lead(f"text-{key}", name=value, company=value) for key, value in TRICKY.items()),
        lead("blank", company="", title="", handed_off_at=None),
        lead("no-owner", owner=None),
        lead("tz-kolkata", handed_off_at=datetime(2026, 11, 25, 13, 0, tzinfo=KOLKATA)),
        lead(
            "tz-new-york",
            handed_off_at=datetime(2026, 11, 25, 3, 15, 30, 123456, tzinfo=NEW_YORK),
        ),
        lead("tz-utc", handed_off_at=datetime(2026, 11, 25, 8, 30, tzinfo=UTC)),
        lead("backfilled", handed_off_at=WED_9 - timedelta(days=10)),
    ]


def test_copy_keeps_text_nulls_and_times_exactly(sla, now, frozen, monkeypatch):
    org = sla
    in_bulk = []
    write = services.lead_ingest.create

    def spy(planned, **kwargs):
        in_bulk.extend(p.lead.external_id for p in planned)
        return write(planned, **kwargs)

    monkeypatch.setattr(services.lead_ingest, "create", spy)
    staff = make_user("admin", is_staff=True)
    services.webhook_subscription_create(
        owner=make_user("hooks", is_staff=True),
        url="https://hooks.example.com/in",
        events=["lead.handed_off"],
    )
    with bounds.backfill(REASON, by=staff):
        one = _upsert_one_by_one(_tricky_items(org, "one"), now=now, user=staff)
        many = services.lead_upsert_many(_tricky_items(org, "many"), now=now, user=staff)

    assert _answers(many) == _answers(one)
    assert [o["result"] for o in many] == ["created"] * 11
    assert in_bulk == [item["data"]["external_id"] for item in _tricky_items(org, "many")]
    assert _written("many") == _written("one")

    # Hand-worked: every value as it was sent, read back from the database.
    leads = {lead.external_id: lead for lead in Lead.objects.filter(source_system="many")}
    for key, value in TRICKY.items():
        assert (leads[f"text-{key}"].name, leads[f"text-{key}"].company) == (value, value)
    blank = leads["blank"]
    assert (blank.company, blank.title, blank.email) == ("", "", "")
    assert (blank.handed_off_at, blank.agreement_version_id, blank.stage) == (None, None, "new")
    assert not Obligation.objects.filter(lead=blank).exists()
    assert set(
        Obligation.objects.filter(lead=leads["no-owner"]).values_list("user", flat=True)
    ) == {None}
    # 13:00 in Kolkata is 08:30 in Berlin: the 4 business hours run 09:00-13:00.
    first_touch = dict(
        Obligation.objects.filter(lead__source_system="many", kind="first_touch").values_list(
            "lead__external_id", "due_at"
        )
    )
    assert leads["tz-kolkata"].handed_off_at == datetime(2026, 11, 25, 8, 30, tzinfo=BERLIN)
    assert first_touch["tz-kolkata"] == datetime(2026, 11, 25, 13, 0, tzinfo=BERLIN)
    # 03:15:30.123456 in New York is 09:15:30.123456 in Berlin, microseconds kept.
    assert leads["tz-new-york"].handed_off_at == datetime(
        2026, 11, 25, 9, 15, 30, 123456, tzinfo=BERLIN
    )
    assert first_touch["tz-new-york"] == datetime(2026, 11, 25, 13, 15, 30, 123456, tzinfo=BERLIN)
    assert first_touch["tz-utc"] == datetime(2026, 11, 25, 13, 30, tzinfo=BERLIN)
    event = StageEvent.objects.get(lead=leads["tz-utc"])
    assert (event.occurred_at, event.user, event.note) == (
        datetime(2026, 11, 25, 8, 30, tzinfo=UTC),
        staff,
        "Handed off to sales",
    )
    backfill = Backfill.objects.get(lead=leads["backfilled"])
    assert (backfill.reason, backfill.occurred_at, backfill.user) == (
        REASON,
        WED_9 - timedelta(days=10),
        staff,
    )
    # The webhook payload's JSON carries the text through COPY's escaping and JSON's.
    names = {
        d.payload["data"]["external_id"]: d.payload["data"]["name"]
        for d in WebhookDelivery.objects.filter(payload__data__source_system="many")
    }
    assert {names[f"text-{key}"] for key in TRICKY} == set(TRICKY.values())
    assert "blank" not in names  # not handed off: no delivery
    assert len(names) == 10
