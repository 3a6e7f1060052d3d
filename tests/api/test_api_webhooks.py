"""Signed webhooks. Inbound: bad and stale signatures refused, replays not applied.
Outbound: signed deliveries to a real local HTTP server, retried with backoff, and a
subscription disabled after repeated failures."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from integrations import deliveries
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import webhook_source_create
from integrations.tasks import deliver_webhook
from leads.models import Activity, Lead

pytestmark = pytest.mark.services


# Inbound --------------------------------------------------------------------------------


@pytest.fixture
def source(sla):
    return webhook_source_create(name="Our CRM", slug="crm", source_system="crm")


def _signed(secret: str, body: bytes, timestamp: int) -> dict:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "HTTP_X_SLAHUB_TIMESTAMP": str(timestamp),
        "HTTP_X_SLAHUB_SIGNATURE": "sha256=" + digest.hexdigest(),
    }


def _lead_event(sla, event_id: str = "evt-1") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "lead.upsert",
            "data": {
                "external_id": "crm-9",
                "name": "Hedy Lamarr",
                "sales_team": sla.sales.pk,
                "handed_off_at": "2026-11-25T09:00:00+01:00",
            },
        }
    ).encode()


def test_a_signed_event_is_applied_once(sla, source, now, frozen):
    src, secret = source
    body = _lead_event(sla)
    headers = _signed(secret, body, int(now.timestamp()))
    client = APIClient()

    first = client.post("/api/v1/inbound/crm/", body, content_type="application/json", **headers)
    replay = client.post("/api/v1/inbound/crm/", body, content_type="application/json", **headers)

    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "created"
    lead = Lead.objects.get(source_system="crm", external_id="crm-9")
    assert lead.obligations.count() == 2
    assert replay.status_code == 200
    assert replay.json() == {"status": "duplicate", "lead": None, "activity": None}
    # The same event id, signed anew a minute later, is not applied either.
    later = _signed(secret, body, int(now.timestamp()) + 60)
    resent = client.post("/api/v1/inbound/crm/", body, content_type="application/json", **later)
    assert resent.json()["status"] == "duplicate"
    assert Lead.objects.count() == 1


def test_a_touch_event_meets_the_clock(sla, source, now, frozen):
    _, secret = source
    client = APIClient()
    body = _lead_event(sla)
    client.post(
        "/api/v1/inbound/crm/",
        body,
        content_type="application/json",
        **_signed(secret, body, int(now.timestamp())),
    )
    touch = json.dumps(
        {
            "id": "evt-2",
            "type": "activity.created",
            "data": {
                "lead_external_id": "crm-9",
                "kind": "call",
                "outcome": "connected",
                "occurred_at": "2026-11-25T09:45:00+01:00",
                "external_id": "call-77",
            },
        }
    ).encode()
    answer = client.post(
        "/api/v1/inbound/crm/",
        touch,
        content_type="application/json",
        **_signed(secret, touch, int(now.timestamp())),
    )

    assert answer.status_code == 201, answer.json()
    activity = Activity.objects.get(source_system="crm", external_id="call-77")
    first_touch = activity.lead.obligations.get(kind="first_touch")
    assert (first_touch.status, first_touch.met_at) == ("met", activity.occurred_at)


def test_bad_and_stale_signatures_are_refused(sla, source, now, frozen):
    _, secret = source
    body = _lead_event(sla)
    client = APIClient()

    forged = _signed("not-the-secret", body, int(now.timestamp()))
    bad = client.post("/api/v1/inbound/crm/", body, content_type="application/json", **forged)
    assert bad.status_code == 401
    assert (bad.json()["code"], bad.json()["detail"]) == (
        "bad_signature",
        "The signature does not match the body.",
    )

    old = _signed(secret, body, int(now.timestamp()) - 301)
    stale = client.post("/api/v1/inbound/crm/", body, content_type="application/json", **old)
    assert stale.status_code == 401
    assert stale.json()["code"] == "stale_timestamp"

    tampered = body.replace(b"Hedy", b"Eve")
    good_headers = _signed(secret, body, int(now.timestamp()))
    changed = client.post(
        "/api/v1/inbound/crm/", tampered, content_type="application/json", **good_headers
    )
    assert changed.status_code == 401
    unsigned = client.post("/api/v1/inbound/crm/", body, content_type="application/json")
    assert unsigned.json()["code"] == "missing_signature"
    unknown = client.post("/api/v1/inbound/nope/", body, content_type="application/json")
    assert unknown.status_code == 404
    assert Lead.objects.count() == 0


def test_a_signed_but_invalid_event_gets_field_messages(sla, source, now, frozen):
    _, secret = source
    body = json.dumps({"type": "lead.upsert", "data": {"name": "No id"}}).encode()
    answer = APIClient().post(
        "/api/v1/inbound/crm/",
        body,
        content_type="application/json",
        **_signed(secret, body, int(now.timestamp())),
    )
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"data.external_id": ["This field is required."]}


# Outbound -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _loopback_receivers(settings):
    """These tests' fake receivers listen on 127.0.0.1, which only the allow-list opens."""
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]


class Receiver:
    """A real HTTP server on 127.0.0.1 answering every POST with `status`."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list = []  # (headers, body); headers match case-insensitively
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _subscribe(client, url: str) -> dict:
    answer = client.post(
        "/api/v1/webhooks/",
        {"url": url, "events": ["lead.handed_off", "breach.created"], "name": "chat bot"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["secret"].startswith("whsec_")
    return answer.json()


def _hand_off_one(push_lead, capture) -> WebhookDelivery:
    with capture(execute=False) as callbacks:
        assert push_lead().status_code == 201
    assert len(callbacks) == 1  # sent only once the hand-off is committed
    return WebhookDelivery.objects.get()


def test_a_delivery_is_signed_and_logged(
    sla, frozen, now, push_lead, as_user, django_capture_on_commit_callbacks
):
    with Receiver(204) as receiver:
        subscription = _subscribe(as_user(sla.sales_manager), receiver.url)
        delivery = _hand_off_one(push_lead, django_capture_on_commit_callbacks)
        assert deliver_webhook.apply(args=[delivery.pk]).get() == "delivered"

    [(headers, body)] = receiver.requests
    expected = hmac.new(
        subscription["secret"].encode(),
        headers["X-SLAHub-Timestamp"].encode() + b"." + body,
        hashlib.sha256,
    ).hexdigest()
    assert headers["X-SLAHub-Signature"] == f"sha256={expected}"
    assert headers["X-SLAHub-Timestamp"] == str(int(now.timestamp()))
    payload = json.loads(body)
    assert payload["event"] == "lead.handed_off"
    assert payload["data"]["external_id"] == "crm-1"
    assert [c["kind"] for c in payload["data"]["open_obligations"]] == [
        "first_touch",
        "disposition",
    ]
    log = as_user(sla.sales_manager).get(f"/api/v1/webhooks/{subscription['id']}/deliveries/")
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log.json()["results"]] == [
        ("delivered", 1, 204)
    ]


def test_a_failing_receiver_is_retried_with_backoff_then_disabled(
    sla, frozen, now, push_lead, as_user, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    with Receiver(500) as receiver:
        subscription = _subscribe(as_user(sla.sales_manager), receiver.url)
        delivery = _hand_off_one(push_lead, django_capture_on_commit_callbacks)

        first = deliveries.attempt(delivery_id=delivery.pk, now=now)
        assert (first.status, first.retry_in) == ("retry", 60)
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == now + timedelta(seconds=60)
        second = deliveries.attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=60))
        assert (second.status, second.retry_in) == ("retry", 120)
        # The task retries on its own (eagerly here) until the subscription is disabled.
        assert deliver_webhook.apply(args=[delivery.pk]).get() == "failed"

    assert len(receiver.requests) == 3
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 500)
    stored = WebhookSubscription.objects.get(pk=subscription["id"])
    assert (stored.is_active, stored.consecutive_failures) == (False, 3)
    assert stored.disabled_reason.startswith("3 failed deliveries in a row")
    shown = as_user(sla.sales_manager).get(f"/api/v1/webhooks/{subscription['id']}/").json()
    assert shown["is_active"] is False
    assert "secret" not in shown
    # A disabled subscription gets no new deliveries; re-enabling resets the count.
    push_lead("crm-2")
    assert WebhookDelivery.objects.count() == 1
    enabled = as_user(sla.sales_manager).patch(
        f"/api/v1/webhooks/{subscription['id']}/", {"is_active": True}, format="json"
    )
    assert (enabled.json()["is_active"], enabled.json()["consecutive_failures"]) == (True, 0)


def test_a_delivery_gives_up_after_its_attempts(
    sla, frozen, now, push_lead, as_user, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 10
    with Receiver(503) as receiver:
        subscription = _subscribe(as_user(sla.sales_manager), receiver.url)
        delivery = _hand_off_one(push_lead, django_capture_on_commit_callbacks)
        assert deliver_webhook.apply(args=[delivery.pk]).get() == "failed"

    assert len(receiver.requests) == 2
    stored = WebhookSubscription.objects.get(pk=subscription["id"])
    assert (stored.is_active, stored.consecutive_failures) == (True, 2)


def test_subscriptions_are_private_and_events_follow_team_visibility(
    sla, frozen, push_lead, as_user, outsider
):
    mine = _subscribe(as_user(sla.sales_manager), "http://127.0.0.1:9/hook")
    theirs = _subscribe(as_user(outsider), "http://127.0.0.1:9/other")

    assert as_user(outsider).get(f"/api/v1/webhooks/{mine['id']}/").status_code == 404
    push_lead()
    # Only the subscriber who can see the lead's teams gets a delivery.
    assert list(WebhookDelivery.objects.values_list("subscription_id", flat=True)) == [mine["id"]]
    assert theirs["id"] != mine["id"]
    bad = as_user(sla.rep).post(
        "/api/v1/webhooks/", {"url": "ftp://x.example/", "events": ["nope"]}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"url", "events"}
