"""Integration: alerts go out through a real SMTP server (aiosmtpd) that goes down for a
while; every alert arrives exactly once after it comes back."""

import email
import email.policy
import socket
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from alerts import delivery
from alerts.models import Alert
from leads import checks
from tests.factories import LONG_AGO, activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")


def free_port() -> int:
    # aiosmtpd's Controller(port=0) cannot check readiness: pick a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    inbox, port = Inbox(), free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://slahub.example"
    servers = []

    def start() -> None:
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)

    def stop() -> None:
        servers.pop().stop()

    start()
    yield inbox, start, stop
    while servers:
        stop()


def breach_leads(org, count: int, *, at: datetime) -> None:
    for i in range(count):
        make_lead(org, now=at, handed_off_at=at, name=f"Lead {i} at {at:%H:%M}", company="Acme")
    checks.deadline_scan(now=at + timedelta(hours=5))


def test_alerts_survive_an_smtp_outage_and_arrive_once(org, now, smtp):
    inbox, start, stop = smtp
    add_commitment(org.version, "first_touch", within="PT4H", warn_at_pct=None)
    activate(org, now=LONG_AGO)

    # Server up: the first breach reaches the rep and the sales manager.
    breach_leads(org, 1, at=datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN))
    t0 = datetime(2026, 11, 25, 13, 0, tzinfo=BERLIN)
    assert delivery.deliver_pending(now=t0).sent == 2
    assert len(inbox.messages) == 2

    # Server down: three more breaches (six alerts) fail and are rescheduled.
    stop()
    breach_leads(org, 3, at=datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN))
    t1 = datetime(2026, 11, 25, 14, 0, tzinfo=BERLIN)
    result = delivery.deliver_pending(now=t1)
    assert (result.sent, result.retrying) == (0, 6)
    waiting = Alert.objects.filter(status="pending")
    assert waiting.count() == 6
    assert all(a.attempts == 1 and a.last_error for a in waiting)
    assert all(a.next_attempt_at == t1 + timedelta(seconds=30) for a in waiting)

    assert delivery.deliver_pending(now=t1 + timedelta(seconds=30)).retrying == 6
    assert set(waiting.values_list("attempts", flat=True)) == {2}

    # Server back: everything arrives, once.
    start()
    assert delivery.deliver_pending(now=t1 + timedelta(seconds=60)).sent == 0  # backoff: 60 s
    assert delivery.deliver_pending(now=t1 + timedelta(seconds=90)).sent == 6
    assert delivery.deliver_pending(now=t1 + timedelta(hours=1)).sent == 0

    assert len(inbox.messages) == 8
    ids = Counter(m["Message-ID"] for m in inbox.messages)
    expected = {a.message_id for a in Alert.objects.all()}
    assert set(ids) == expected and set(ids.values()) == {1}
    assert set(Alert.objects.values_list("status", flat=True)) == {"sent"}
    assert Counter(m["To"] for m in inbox.messages) == {
        "rep@example.com": 4,
        "sales_manager@example.com": 4,
    }

    message = inbox.messages[-1]
    assert message["Subject"].startswith("First touch overdue by 1 h:")
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "https://slahub.example/breaches/" in html
    assert "Sales will make a first touch on every lead within 4 business hours" in text
