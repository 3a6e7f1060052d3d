"""The scan renders nothing (it stores a snapshot of the facts); one delivery run renders,
sends over one SMTP connection and marks each email sent as the server accepts it (so a crash
re-sends at most the one in flight)."""

import email
import email.policy
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext

from alerts import delivery
from alerts.models import Alert
from leads import checks
from tests.factories import LONG_AGO, activate, add_commitment, make_lead
from tests.test_alerts_smtp import free_port

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def first_touch(org, settings):
    settings.SITE_URL = "https://slahub.example"
    add_commitment(org.version, "first_touch", within="PT4H", warn_at_pct=None)
    activate(org, now=LONG_AGO)
    return org


def overdue_leads(org, count: int, *, at: datetime) -> None:
    for i in range(count):
        make_lead(org, now=at, handed_off_at=at, name=f"Lead {i} at {at:%H:%M}", company="Acme")


def scan(now: datetime):
    """One deadline scan; returns (breached, its queries, templates rendered during it)."""
    rendered = []

    def count(sender, template, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(count)
    try:
        with CaptureQueriesContext(connection) as queries:
            result = checks.deadline_scan(now=now)
    finally:
        template_rendered.disconnect(count)
    return result.breached, len(queries), rendered


def test_the_scan_renders_nothing_and_its_queries_do_not_grow_with_the_due_clocks(first_touch):
    org = first_touch
    overdue_leads(org, 3, at=datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN))
    few = scan(datetime(2026, 11, 25, 13, 0, tzinfo=BERLIN))
    overdue_leads(org, 40, at=datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN))
    many = scan(datetime(2026, 11, 25, 14, 0, tzinfo=BERLIN))

    assert (few[0], many[0]) == (3, 40)
    assert few[2] == many[2] == []  # no template rendered inside the scan
    assert few[1] == many[1]  # set-based: the same queries for 3 and for 40 due clocks

    rows = Alert.objects.values_list("subject", "body_text", "body_html", "facts")
    assert len(rows) == 86  # the rep and the sales manager, per breach
    assert all(subject == text == html == "" and facts for subject, text, html, facts in rows)
    facts = Alert.objects.filter(event="breach").values_list("facts", flat=True).first()
    assert facts["promise"].startswith("Sales will make a first touch on every lead within")
    assert {"clock", "lead", "due_at", "responsible", "team", "breach_id"} <= set(facts)

    # The deliverer renders them, stores what it sent, and the text says what was found.
    assert delivery.deliver_pending(now=datetime(2026, 11, 25, 14, 0, tzinfo=BERLIN)).sent == 86
    alert = Alert.objects.filter(event="breach", recipient=org.rep).order_by("id").first()
    stored = Alert.objects.values("subject", "body_text", "body_html").get(pk=alert.pk)
    assert stored["subject"] == "First touch overdue by 1 min: Lead 0 at 08:00, Acme"
    assert "Due:           Wed 25 Nov 2026, 12:00 UTC" in stored["body_text"]
    assert f"https://slahub.example/breaches/{alert.breach_id}/" in stored["body_html"]


class PeerInbox:
    """Keeps every accepted message with the client address of its connection."""

    def __init__(self) -> None:
        self.messages: list = []
        self.peers: Counter = Counter()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.peers[session.peer] += 1
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    inbox, port = PeerInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def alert_updates(queries) -> int:
    return sum(q["sql"].startswith('UPDATE "alerts_alert"') for q in queries.captured_queries)


@pytest.mark.parametrize("leads", [5, 25])
def test_one_delivery_run_uses_one_smtp_connection_and_marks_each_email_once(
    first_touch, smtp, settings, leads
):
    settings.ALERTS_BATCH_SIZE = 50
    at = datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN)
    overdue_leads(first_touch, leads, at=at)
    checks.deadline_scan(now=at + timedelta(hours=5))
    assert Alert.objects.filter(status="pending").count() == 2 * leads  # 50 for 25 leads

    with CaptureQueriesContext(connection) as queries:
        result = delivery.deliver_pending(now=at + timedelta(hours=5))

    assert result.sent == 2 * leads
    assert len(smtp.peers) == 1  # one SMTP connection for the whole run
    assert sum(smtp.peers.values()) == 2 * leads
    # the claim (1) per batch; one conditional mark per email, storing what it said
    assert alert_updates(queries) == 1 + 2 * leads
    ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert set(ids) == {a.message_id for a in Alert.objects.all()}
    assert set(ids.values()) == {1}
    assert set(Alert.objects.values_list("status", "attempts")) == {("sent", 1)}
