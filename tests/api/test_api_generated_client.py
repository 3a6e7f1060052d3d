"""A Python client generated from the live schema with `openapi-python-client` (as an
integrator would, offline, into a temporary folder) runs the life of a lead against the live
server with no patching: create and hand off, list obligations, log a touch, accept, list
and acknowledge a breach, bulk upsert, import a CSV (a real Celery worker), read
compliance. The schema also passes `openapi-spec-validator`.

Time is moved to Wednesday 2026-11-25 10:00 Berlin and runs on from there (the live server
shares this process's clock); the leads were handed off on Monday 09:00, two days back."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import io
import json
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from django.test import override_settings
from openapi_spec_validator import validate

from integrations.services import api_token_create
from leads import checks
from tests.celery_workers import Worker, drop_queues, new_queue, producer, wait_for
from tests.conftest import redis_url
from tests.factories import make_user

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)  # a Wednesday
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
PACKAGE = "slahub_generated_client"


@pytest.fixture
def moved_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(scope="module", autouse=True)
def _live_host():
    with override_settings(ALLOWED_HOSTS=["localhost", "127.0.0.1"]):
        yield


@pytest.fixture(scope="module")
def schema(live_server, django_db_setup, django_db_blocker):
    """The schema as the live server serves it (behind login: fetched with a staff token,
    removed afterwards)."""
    with django_db_blocker.unblock():
        reader = make_user("schema-reader", is_staff=True)
        _, key = api_token_create(user=reader, name="schema")
        try:
            answer = httpx.get(
                f"{live_server.url}/api/schema/?format=json",
                headers={"Authorization": f"Token {key}"},
            )
        finally:
            reader.delete()
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def client_package(schema, tmp_path_factory):
    """The generated package, imported from a temporary folder (no ruff hook: offline)."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / "config.yaml").write_text("post_hooks: []\n")
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(folder / "schema.json"),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(folder / "config.yaml"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"\nopenapi-python-client generated the client in {time.monotonic() - started:.1f} s")
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(PACKAGE)
        package.folder = folder
        yield package
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_the_schema_is_a_valid_openapi_document(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_every_generated_endpoint_module_imports(client_package):
    modules = sorted((client_package.folder / PACKAGE / "api").glob("*/*.py"))
    names = [f"{PACKAGE}.api.{p.parent.name}.{p.stem}" for p in modules if p.stem != "__init__"]
    assert len(names) > 50
    for name in names:
        importlib.import_module(name)


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models():
    return importlib.import_module(f"{PACKAGE}.models")


def _types():
    return importlib.import_module(f"{PACKAGE}.types")


def test_the_life_of_a_lead_through_the_generated_client(
    client_package, live_server, sla, moved_clock, tmp_path
):
    m = _models()

    def client_for(user):
        _, key = api_token_create(user=user, name="generated client")
        return client_package.AuthenticatedClient(
            base_url=live_server.url, token=key, prefix="Token", raise_on_unexpected_status=True
        )

    marketer, rep, manager = (
        client_for(sla.marketer),
        client_for(sla.rep),
        client_for(sla.sales_manager),
    )

    me = _api("me.me_retrieve").sync(client=marketer)
    assert (me.username, me.roles, [(t.id, t.role) for t in me.teams]) == (
        "marketer",
        ["marketer"],
        [(sla.marketing.pk, "member")],
    )
    assert me.teams[0].can.edit_leads and not me.teams[0].can.work_leads

    # Marketing creates a lead (no marketing team named: it is the marketer's), then hands
    # it off; a second lead is pushed handed off already.
    created = _api("leads.leads_create").sync_detailed(
        client=marketer,
        body=m.LeadCreateRequest(
            source_system="crm", external_id="A", name="Ada Lovelace", sales_team=sla.sales.pk
        ),
    )
    assert created.status_code == 201
    lead = created.parsed
    assert (lead.marketing_team, lead.stage.value, lead.open_obligations) == (
        sla.marketing.pk,
        "new",
        [],
    )
    lead = _api("leads.leads_hand_off_create").sync(
        client=marketer, id=lead.id, body=m.AtRequest(at=MONDAY_9)
    )
    assert lead.stage.value == "mql"
    assert {o.kind.value for o in lead.open_obligations} == {"first_touch", "disposition"}
    other = _api("leads.leads_create").sync(
        client=marketer,
        body=m.LeadCreateRequest(
            source_system="crm",
            external_id="B",
            name="Grace Hopper",
            sales_team=sla.sales.pk,
            owner=sla.rep.pk,
            handed_off_at=MONDAY_9,
        ),
    )
    assert other.owner == sla.rep.pk

    # Sales sees the clocks: first touch due Monday 13:00 (4 business hours), disposition
    # Tuesday 09:00 (1 working day).
    clocks = _api("obligations.obligations_list").sync(client=rep, lead=lead.id)
    due = {o.kind.value: o.due_at.astimezone(BERLIN) for o in clocks.results}
    assert due == {
        "first_touch": dt.datetime(2026, 11, 23, 13, 0, tzinfo=BERLIN),
        "disposition": dt.datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN),
    }

    # The rep calls on Monday 09:30 and accepts at 10:00: both clocks met.
    touch = _api("activities.activities_create").sync_detailed(
        client=rep,
        body=m.ActivityCreateRequest(
            lead=lead.id,
            kind=m.ActivityKindEnum.CALL,
            occurred_at=MONDAY_9 + dt.timedelta(minutes=30),
        ),
    )
    assert touch.status_code == 201
    accepted = _api("leads.leads_accept_create").sync(
        client=rep, id=lead.id, body=m.AtRequest(at=MONDAY_9 + dt.timedelta(hours=1))
    )
    assert accepted.stage.value == "sal"
    met = _api("obligations.obligations_list").sync(
        client=rep, lead=lead.id, status=[m.ObligationsListStatusItem.MET]
    )
    assert sorted(o.kind.value for o in met.results) == ["disposition", "first_touch"]

    # The checks run (as beat runs them): lead B missed both clocks; the rep sees its
    # first-touch breach, unresolved (resolution ""), and acknowledges it.
    checks.deadline_scan(now=dt.datetime.now(dt.UTC))
    breaches = _api("breaches.breaches_list").sync(client=rep, lead=other.id)
    assert sorted(b.kind.value for b in breaches.results) == ["disposition", "first_touch"]
    breach = next(b for b in breaches.results if b.kind.value == "first_touch")
    assert (breach.status.value, breach.resolution.value, breach.acknowledged_at) == (
        "open",
        "",
        None,
    )
    acknowledged = _api("breaches.breaches_acknowledge_create").sync(
        client=rep, id=breach.id, body=m.AcknowledgeRequest(note="Missed over the weekend rush")
    )
    assert (acknowledged.status.value, acknowledged.acknowledge_note) == (
        "acknowledged",
        "Missed over the weekend rush",
    )

    # Bulk upsert: one new lead, one bad item (no key), each answered on its own.
    bulk = _api("leads.leads_bulk_create").sync(
        client=marketer,
        body=m.BulkLeadsRequest(
            leads=[
                m.LeadUpsertRequest(
                    external_id="C", name="Katherine Johnson", sales_team=sla.sales.pk
                ),
                m.LeadUpsertRequest(external_id="", name="No key", sales_team=sla.sales.pk),
            ]
        ),
    )
    assert (bulk.counts.created, bulk.counts.error) == (1, 1)
    assert [(r.index, r.result.value) for r in bulk.results] == [(0, "created"), (1, "error")]
    assert list(bulk.results[1].errors.to_dict()) == ["external_id"]

    # A CSV import, run by a real Celery worker.
    csv = b"Id,First,Last\nd-1,Dorothy,Vaughan\nd-2,Mary,Jackson\n"
    broker, queue = redis_url(), new_queue("generated-client")
    try:
        with producer(broker, queue), Worker(broker, queue, tmp_path):
            record = _api("imports.imports_create").sync(
                client=marketer,
                body=m.ImportUploadRequest(
                    file=_types().File(payload=io.BytesIO(csv), file_name="d.csv"),
                    preset=m.PresetEnum.CUSTOM,
                    mapping=m.ImportUploadRequestMapping.from_dict(
                        {"external_id": "Id", "name": ["First", "Last"]}
                    ),
                    sales_team=sla.sales.pk,
                ),
            )
            assert record.status.value == "pending"
            retrieve = _api("imports.imports_retrieve")
            wait_for(
                lambda: retrieve.sync(client=marketer, id=record.id).status.value == "done",
                what="the import",
            )
    finally:
        drop_queues(broker)
    done = _api("imports.imports_retrieve").sync(client=marketer, id=record.id)
    assert (done.total_rows, done.created_count, done.error_count) == (2, 2, 0)
    names = _api("leads.leads_list").sync(client=marketer, source_system="custom")
    assert sorted(x.name for x in names.results) == ["Dorothy Vaughan", "Mary Jackson"]

    # Every list and report that needs no argument parses what the server answers, as staff
    # (who sees every row above): a shape the schema gets wrong raises here.
    staff = client_for(make_user("auditor", is_staff=True))
    folder = client_package.folder / PACKAGE / "api"
    read = 0
    for path in sorted(folder.glob("*/*_list.py")) + sorted(folder.glob("reports/*.py")):
        operation = _api(f"{path.parent.name}.{path.stem}")
        if path.stem == "__init__" or not hasattr(operation, "sync_detailed"):
            continue
        required = [
            name
            for name, p in inspect.signature(operation.sync_detailed).parameters.items()
            if p.default is inspect.Parameter.empty and name != "client"
        ]
        if required:
            continue
        answer = operation.sync_detailed(client=staff)
        assert answer.status_code == 200, (path.stem, answer.content[:300])
        assert answer.parsed is not None
        read += 1
    assert read >= 12

    # Compliance: first touch and disposition each met once (lead A) and missed once (B).
    report = _api("reports.reports_compliance").sync(client=manager, agreement=sla.agreement.pk)
    sales = report.sales
    assert (sales.first_touch.decided, sales.first_touch.met, sales.first_touch.missed) == (2, 1, 1)
    assert (sales.disposition.decided, sales.disposition.met, sales.disposition.pct) == (2, 1, 50.0)
