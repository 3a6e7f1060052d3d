"""The Salesforce connector against a local fake of the Salesforce REST API over TLS
(simple-salesforce always speaks https; the fake's certificate is made here and trusted by
the test's session only). The fake answers like the documented endpoints: queryAll with
nextRecordsUrl paging, a 401 INVALID_SESSION_ID for the stored (expired) access token, the
OAuth refresh-token flow at /services/oauth2/token, one REQUEST_LIMIT_EXCEEDED, a deleted
lead (IsDeleted), and the sObject Collections update.

Worked by hand (now = 09:00 UTC): lead 00Q1 Ada, 'Marketing Qualified' last modified at
07:30 → handed off 07:30, first touch due 08:30; her completed call at 07:50 meets it →
written back: SLA status 'due', no first touch due (null). 00Q2 was deleted → skipped,
never created. 00Q3 Cy 'Open' → new, no clocks; his converted opportunity is Closed Won
for 5000 at 08:40 → stage won at 08:40.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Response

from connectors import crypto
from connectors.models import Connector, Deal, SyncRun
from connectors.salesforce import SalesforceAdapter
from connectors.sync import sync_run
from leads.models import Activity, Lead, StageEvent
from tests.connectors.conftest import NOW

pytestmark = pytest.mark.services

V = "/services/data/v62.0"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A self-signed certificate for localhost, as (server context, CA file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, str(cert_file)


@pytest.fixture
def server(tls):
    server = HTTPServer(host="localhost", port=0, ssl_context=tls[0])
    server.start()
    yield server
    server.clear()
    server.stop()


def js(body, status=200):
    return Response(json.dumps(body), status=status, content_type="application/json")


def lead(pk, first, last, status, modified, deleted=False):
    return {
        "attributes": {"type": "Lead", "url": f"{V}/sobjects/Lead/{pk}"},
        "Id": pk,
        "FirstName": first,
        "LastName": last,
        "Email": f"{first.lower()}@acme.example",
        "Company": "Acme",
        "Title": "CTO",
        "Phone": "+49 30 1234",
        "Country": "Germany",
        "Status": status,
        "Owner": {"attributes": {"type": "Name"}, "Email": "rep@example.com"},
        "LastModifiedDate": modified,
        "SystemModstamp": modified,
        "IsDeleted": deleted,
    }


class FakeSalesforce:
    def __init__(self, server):
        self.server, self.log = server, []
        self.refused_once = True
        self.refuse_update = False
        self.access_token = "00D-fresh-access-token"
        server.expect_request("/services/oauth2/token", method="POST").respond_with_handler(
            self.token
        )
        server.expect_request(f"{V}/queryAll/", method="GET").respond_with_handler(self.query)
        server.expect_request(f"{V}/query/", method="GET").respond_with_handler(self.converted)
        server.expect_request(
            f"{V}/queryAll/01gD0000002HU6KIAW-2000", method="GET"
        ).respond_with_handler(self.lead_page_two)
        server.expect_request(f"{V}/composite/sobjects", method="PATCH").respond_with_handler(
            self.update
        )

    @property
    def url(self):
        return self.server.url_for("/").rstrip("/")

    def _unauthorised(self, request):
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return js(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
            )
        return None

    def token(self, request):
        self.log.append(("token", dict(request.form)))
        if request.form.get("refresh_token") != "5Aep861-refresh":
            return js(
                {"error": "invalid_grant", "error_description": "expired access/refresh token"}, 400
            )
        return js(
            {
                "access_token": self.access_token,
                "signature": "c2lnbmF0dXJl",
                "scope": "refresh_token api",
                "instance_url": self.url,
                "id": f"{self.url}/id/00D000000000001/005000000000001",
                "token_type": "Bearer",
                "issued_at": "1795683600000",
            }
        )

    def query(self, request):
        soql = request.args["q"]
        self.log.append(("query", soql))
        if refused := self._unauthorised(request):
            return refused
        if "FROM Lead " in soql:
            return js(
                {
                    "totalSize": 3,
                    "done": False,
                    "nextRecordsUrl": f"{V}/queryAll/01gD0000002HU6KIAW-2000",
                    "records": [
                        lead(
                            "00Q000000000001",
                            "Ada",
                            "Lovelace",
                            "Marketing Qualified",
                            "2026-11-25T07:30:00.000+0000",
                        ),
                        lead(
                            "00Q000000000002",
                            "Bob",
                            "Byte",
                            "Marketing Qualified",
                            "2026-11-25T07:40:00.000+0000",
                            deleted=True,
                        ),
                    ],
                }
            )
        if "FROM Task " in soql:
            task = {
                "attributes": {"type": "Task"},
                "WhoId": "00Q000000000001",
                "Owner": {"attributes": {"type": "Name"}, "Email": "rep@example.com"},
                "IsDeleted": False,
                "CreatedDate": "2026-11-25T07:50:00.000+0000",
            }
            return js(
                {
                    "totalSize": 2,
                    "done": True,
                    "records": [
                        task
                        | {
                            "Id": "00T000000000001",
                            "Subject": "Call",
                            "TaskSubtype": "Call",
                            "CallDisposition": "Connected",
                            "Status": "Completed",
                            "CompletedDateTime": "2026-11-25T07:50:00.000+0000",
                            "SystemModstamp": "2026-11-25T07:51:00.000+0000",
                        },
                        task
                        | {
                            "Id": "00T000000000002",
                            "Subject": "Send brochure",
                            "TaskSubtype": "Task",
                            "CallDisposition": None,
                            "Status": "Not Started",
                            "CompletedDateTime": None,
                            "SystemModstamp": "2026-11-25T07:52:00.000+0000",
                        },
                    ],
                }
            )
        if "FROM Event " in soql:
            return js({"totalSize": 0, "done": True, "records": []})
        opportunity = {
            "attributes": {"type": "Opportunity"},
            "Id": "006000000000001",
            "Name": "Acme platform",
            "StageName": "Closed Won",
            "Amount": 5000.0,
            "CloseDate": "2026-11-25",
            "IsClosed": True,
            "LastModifiedDate": "2026-11-25T08:40:00.000+0000",
            "IsDeleted": False,
            "SystemModstamp": "2026-11-25T08:40:00.000+0000",
        }
        return js({"totalSize": 1, "done": True, "records": [opportunity]})

    def lead_page_two(self, request):
        self.log.append(("query_more", request.path))
        if refused := self._unauthorised(request):
            return refused
        if self.refused_once:
            self.refused_once = False
            return js(
                [
                    {
                        "message": "TotalRequests Limit exceeded.",
                        "errorCode": "REQUEST_LIMIT_EXCEEDED",
                    }
                ],
                403,
            )
        return js(
            {
                "totalSize": 3,
                "done": True,
                "records": [
                    lead("00Q000000000003", "Cy", "Press", "Open", "2026-11-25T08:45:00.000+0000")
                ],
            }
        )

    def converted(self, request):
        self.log.append(("converted", request.args["q"]))
        if refused := self._unauthorised(request):
            return refused
        row = {
            "attributes": {"type": "Lead"},
            "Id": "00Q000000000003",
            "ConvertedContactId": "003000000000003",
            "ConvertedOpportunityId": "006000000000001",
        }
        return js({"totalSize": 1, "done": True, "records": [row]})

    def update(self, request):
        body = request.get_json()
        self.log.append(("update", body))
        if refused := self._unauthorised(request):
            return refused
        if self.refuse_update:
            error = {
                "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                "message": "Unable to create/update fields: SLA_Status__c.",
                "fields": ["SLA_Status__c"],
            }
            return js([{"success": False, "errors": [error]} for _ in body["records"]])
        return js([{"id": r["id"], "success": True, "errors": []} for r in body["records"]])


@pytest.fixture
def fake(server):
    return FakeSalesforce(server)


@pytest.fixture
def connector(world, fake):
    return Connector.objects.create(
        kind="salesforce",
        sales_team=world.sales,
        marketing_team=world.marketing,
        run_as=world.bot,
        credentials=crypto.seal(
            {
                "client_secret": "consumer-secret",
                "refresh_token": "5Aep861-refresh",
                "access_token": "00D-expired-access-token",
            }
        ),
        settings={
            "instance_url": fake.url,
            "login_url": fake.url,
            "auth": "refresh",
            "client_id": "3MVG9-consumer-key",
            "stage_map": {
                "Open": "new",
                "Marketing Qualified": "mql",
                "Closed Won": "won",
                "Closed Lost": "lost",
            },
            "writeback": {"first_touch_due": "First_Touch_Due__c", "sla_status": "SLA_Status__c"},
        },
        created_at=NOW,
    )


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_it_refreshes_the_token_pages_backs_off_and_writes_back(fake, connector, world, tls):
    session = requests.Session()
    session.verify, session.trust_env = tls[1], False  # env CA bundles would win over it
    waits = []
    adapter = SalesforceAdapter(
        connector=connector,
        secrets=crypto.unseal(connector.credentials),
        sleep=waits.append,
        session=session,
    )
    run = SyncRun.objects.create(connector=connector, created_at=NOW)
    run = sync_run(run_id=run.pk, clock=lambda: NOW, adapter=adapter)

    assert run.status == "done", run.error
    assert waits == [1.0]  # REQUEST_LIMIT_EXCEEDED once: waited 2**0 s
    tokens = [body for kind, body in fake.log if kind == "token"]
    assert tokens == [
        {
            "grant_type": "refresh_token",
            "client_id": "3MVG9-consumer-key",
            "client_secret": "consumer-secret",
            "refresh_token": "5Aep861-refresh",
        }
    ]
    stored = crypto.unseal(Connector.objects.get().credentials)
    assert stored["access_token"] == "00D-fresh-access-token"
    # Lead pages 2, Task, Event, Opportunity: 5 pages; 2+1+2+0+1 records.
    assert (run.pages, run.fetched, run.created, run.updated, run.skipped) == (5, 6, 4, 0, 2)
    assert sorted(run.skips.values_list("external_id", "reason")) == [
        ("00Q000000000002", "Deleted in Salesforce."),
        ("Task:00T000000000002", "Only calls and emails count as touches."),
    ]
    first_query = next(soql for kind, soql in fake.log if kind == "query")
    assert "FROM Lead WHERE SystemModstamp >= 1970-01-01T00:00:00Z ORDER BY SystemModstamp" in (
        first_query
    )

    ada = Lead.objects.get(source_system="salesforce", external_id="00Q000000000001")
    assert (ada.stage, ada.owner, ada.handed_off_at) == ("mql", world.rep, at("2026-11-25T07:30"))
    call = Activity.objects.get(lead=ada)
    assert (call.kind, call.outcome, call.occurred_at) == (
        "call",
        "connected",
        at("2026-11-25T07:50"),
    )
    assert not Lead.objects.filter(external_id="00Q000000000002").exists()
    cy = Lead.objects.get(external_id="00Q000000000003")
    assert StageEvent.objects.get(lead=cy, to_stage="won").occurred_at == at("2026-11-25T08:40")
    assert Deal.objects.get().amount == 5000

    [update] = [body for kind, body in fake.log if kind == "update"]
    assert update == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Lead"},
                "id": "00Q000000000001",
                "First_Touch_Due__c": None,
                "SLA_Status__c": "due",
            }
        ],
    }

    # The next run asks from the last SystemModstamp seen (08:45), and doubles nothing.
    fake.log.clear()
    again = sync_run(
        run_id=SyncRun.objects.create(connector=connector, created_at=NOW).pk,
        clock=lambda: NOW,
        adapter=adapter,
    )
    assert (again.status, again.created, again.updated, again.written_back) == ("done", 0, 0, 0)
    lead_query = next(soql for kind, soql in fake.log if kind == "query" and "FROM Lead" in soql)
    assert "WHERE SystemModstamp >= 2026-11-25T08:45:00Z" in lead_query


def test_a_refused_refresh_token_fails_the_run_with_a_clear_message(fake, connector, tls):
    connector.credentials = crypto.seal({"refresh_token": "revoked", "client_secret": "s"})
    connector.save()
    session = requests.Session()
    session.verify, session.trust_env = tls[1], False  # env CA bundles would win over it
    adapter = SalesforceAdapter(
        connector=connector, secrets=crypto.unseal(connector.credentials), session=session
    )
    run = SyncRun.objects.create(connector=connector, created_at=NOW)
    run = sync_run(run_id=run.pk, clock=lambda: NOW, adapter=adapter)
    assert run.status == "failed"
    assert run.error == (
        "Salesforce refused the sign-in (invalid_grant: expired access/refresh token): "
        "reconnect it on the page."
    )
    assert "revoked" not in run.error


def test_a_write_back_salesforce_refuses_is_logged_and_sent_again_next_time(fake, connector, tls):
    session = requests.Session()
    session.verify, session.trust_env = tls[1], False
    adapter = SalesforceAdapter(
        connector=connector, secrets=crypto.unseal(connector.credentials), session=session
    )
    fake.refuse_update = True
    run = sync_run(
        run_id=SyncRun.objects.create(connector=connector, created_at=NOW).pk,
        clock=lambda: NOW,
        adapter=adapter,
    )
    assert (run.status, run.written_back, run.skipped) == ("done", 0, 3)
    assert run.skips.get(object_type="write-back").reason == (
        "Write-back refused: INVALID_FIELD_FOR_INSERT_UPDATE Unable to create/update fields: "
        "SLA_Status__c."
    )
    fake.refuse_update = False
    again = sync_run(
        run_id=SyncRun.objects.create(connector=connector, created_at=NOW).pk,
        clock=lambda: NOW,
        adapter=adapter,
    )
    assert again.written_back == 1
