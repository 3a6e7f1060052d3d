"""Outbound webhooks reach only public http(s) addresses unless the allow-list opens one;
the address is checked when the URL is saved and again at delivery (DNS rebinding), no
redirect is followed, and network errors all read the same (no port scanning); two
attempts at once never send one delivery twice."""

from __future__ import annotations

import socket
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from integrations import deliveries, egress
from integrations.models import WebhookDelivery, WebhookSubscription
from tests.factories import make_user
from tests.webhook_receivers import Receiver, Silent, closed_port

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("UTC"))

REFUSED = [
    "http://127.0.0.1:8000/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:5432/",
    "http://10.0.0.7/hook",
    "http://192.168.1.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://localhost/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "ftp://files.example.com/hook",
    "file:///etc/passwd",
    "http://user:pw@93.184.216.34/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_non_http_urls_are_refused(url, settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = []
    with pytest.raises(egress.Refused):
        egress.validate_url(url)


def test_public_addresses_and_the_allow_list_are_accepted(settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = []
    egress.validate_url("https://93.184.216.34/hook")
    egress.validate_url("https://no-such-host.invalid/hook")  # checked again at delivery
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1/32", "hooks.internal"]
    egress.validate_url("http://127.0.0.1:9/hook")
    egress.validate_url("http://hooks.internal/hook")
    with pytest.raises(egress.Refused):
        egress.validate_url("http://10.0.0.7/hook")


def test_the_api_and_the_model_refuse_a_private_url(db, settings):
    from rest_framework.test import APIClient

    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = []
    user = make_user("ops", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    answer = client.post(
        "/api/v1/webhooks/",
        {"url": "http://169.254.169.254/latest/", "events": ["breach.created"]},
        format="json",
    )
    assert answer.status_code == 400
    assert "not public" in answer.json()["fields"]["url"][0]
    subscription = WebhookSubscription(owner=user, url="http://[::1]/", events=[], secret="s")
    with pytest.raises(ValidationError):
        subscription.full_clean()


def _delivery(url: str) -> WebhookDelivery:
    user = make_user(f"owner{WebhookSubscription.objects.count()}", is_staff=True)
    subscription = WebhookSubscription.objects.create(
        owner=user, url=url, events=["breach.created"], secret="whsec_test"
    )
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event="breach.created",
        payload={"event": "breach.created", "data": {}},
        created_at=NOW,
        next_attempt_at=NOW,
    )


def test_delivery_checks_the_resolved_address_and_connects_to_it(db, settings, monkeypatch):
    """A name that resolved to a public address when saved and to 127.0.0.1 now (DNS
    rebinding) is refused at delivery; an allowed name is connected to at the address
    checked, with its own Host header."""
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = []
    with Receiver(204) as receiver:
        real = socket.getaddrinfo
        answers = {"rebind.example.com": "127.0.0.1", "hooks.internal": "127.0.0.1"}

        def fake(host, port, *args, **kwargs):
            if host in answers:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        rebound = _delivery(f"http://rebind.example.com:{receiver.port}/hook")
        assert deliveries.attempt(delivery_id=rebound.pk, now=NOW).status == "retry"
        rebound.refresh_from_db()
        assert rebound.last_error == egress.NOT_PUBLIC
        assert receiver.requests == []

        settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["hooks.internal"]
        allowed = _delivery(f"http://hooks.internal:{receiver.port}/in?x=1")
        assert deliveries.attempt(delivery_id=allowed.pk, now=NOW).status == "delivered"
        [(path, headers, _body)] = receiver.requests
        assert (path, headers["Host"]) == ("/in?x=1", f"hooks.internal:{receiver.port}")


def test_redirects_are_not_followed(db, settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    with Receiver(302, headers={"Location": "http://169.254.169.254/latest/"}) as receiver:
        delivery = _delivery(receiver.url)
        assert deliveries.attempt(delivery_id=delivery.pk, now=NOW).status == "retry"
    delivery.refresh_from_db()
    assert (delivery.last_status_code, len(receiver.requests)) == (302, 1)
    assert delivery.last_error == "HTTP 302 (redirects are not followed)"


def test_closed_open_and_silent_ports_read_the_same(db, settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    with Silent() as silent:
        closed = _delivery(f"http://127.0.0.1:{closed_port()}/")
        hung = _delivery(f"http://127.0.0.1:{silent.port}/")
        unknown = _delivery("http://no-such-host.invalid/")
        for delivery in (closed, hung, unknown):
            deliveries.attempt(delivery_id=delivery.pk, now=NOW)
    errors = {d.pk: d.last_error for d in WebhookDelivery.objects.all()}
    assert set(errors.values()) == {egress.UNREACHABLE}
    assert set(WebhookDelivery.objects.values_list("last_status_code", flat=True)) == {None}


def test_two_attempts_at_once_send_each_delivery_once(transactional_db, require_postgres, settings):
    """The issue's case: two workers at a slow receiver posted every delivery twice."""
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    with Receiver(204, delay=0.3) as receiver:
        ids = [_delivery(receiver.url).pk for _ in range(5)]
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def worker() -> None:
            try:
                start.wait()
                for pk in ids:
                    outcomes.append(deliveries.attempt(delivery_id=pk, now=NOW).status)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(outcomes) == ["delivered"] * 5 + ["skipped"] * 5
    assert len(receiver.requests) == 5
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 1)}


def test_https_goes_to_the_checked_address_and_verifies_the_host_name(
    db, settings, monkeypatch, tmp_path
):
    """TLS to the pinned address still names the URL's host (SNI) and checks the
    certificate against it: a certificate for another name is refused."""
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.test"]
        + ["-addext", "subjectAltName=DNS:hooks.test"],
        check=True,
        capture_output=True,
    )
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["hooks.test", "other.test"]
    real_getaddrinfo, real_context = socket.getaddrinfo, ssl.create_default_context

    def fake(host, port, *args, **kwargs):
        if host in ("hooks.test", "other.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setattr(ssl, "create_default_context", lambda: real_context(cafile=str(cert)))
    with Receiver(204) as receiver:
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert, key)
        receiver.server.socket = server_context.wrap_socket(
            receiver.server.socket, server_side=True
        )
        good = _delivery(f"https://hooks.test:{receiver.port}/hook")
        assert deliveries.attempt(delivery_id=good.pk, now=NOW).status == "delivered"
        wrong = _delivery(f"https://other.test:{receiver.port}/hook")
        assert deliveries.attempt(delivery_id=wrong.pk, now=NOW).status == "retry"
    wrong.refresh_from_db()
    assert wrong.last_error == egress.UNREACHABLE
    [(_path, headers, _body)] = receiver.requests
    assert headers["Host"] == f"hooks.test:{receiver.port}"
