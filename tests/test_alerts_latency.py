"""The promise of docs/alerts.md, end to end with the real parts and the default interval: a
real Celery worker and beat (subprocesses, Redis, this database) and an SMTP server on
loopback. A clock falls due a few seconds ahead: its breach is recorded within 15 s of the
due time and its emails reach the SMTP server within 30 s."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from agreements.models import Commitment
from leads.models import Breach
from tests.celery_workers import Beat, Worker, drop_queues, new_queue, producer, wait_for
from tests.conftest import redis_url
from tests.factories import activate, add_commitment, make_lead, make_org
from tests.test_alerts_smtp import free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


class TimedInbox:
    def __init__(self) -> None:
        self.received: list[tuple[float, email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((time.time(), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox():
    inbox, port = TimedInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def broker(require_postgres):
    url = redis_url()
    yield url
    drop_queues(url)


def test_a_clock_due_in_a_few_seconds_is_breached_and_its_emails_sent_in_time(
    broker, inbox, tmp_path, settings
):
    assert settings.SCAN_INTERVAL_SECONDS == 10  # the default this promise is made for
    real_now = timezone.now()
    org = make_org(now=real_now - timedelta(days=1))
    add_commitment(org.version, Commitment.Kind.FIRST_TOUCH, within="PT1H", clock="calendar")
    activate(org, now=real_now - timedelta(days=1))
    queue = new_queue("latency")
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}"}
    worker, beat = Worker(broker, queue, tmp_path, **env), Beat(broker, queue, tmp_path, **env)
    with producer(broker, queue), worker, beat:
        time.sleep(4)  # the worker and beat start
        handed = timezone.now() - timedelta(hours=1) + timedelta(seconds=5)
        lead = make_lead(org, now=handed, handed_off_at=handed, name="Due soon")
        due = (handed + timedelta(hours=1)).timestamp()

        wait_for(lambda: Breach.objects.filter(lead=lead).exists(), timeout=25)
        recorded = time.time()
        wait_for(lambda: len(inbox.received) >= 2, timeout=30, what="the emails")

    assert recorded - due <= 15
    assert [at - due <= 30 for at, _ in inbox.received] == [True, True]
    assert sorted(m["To"] for _, m in inbox.received) == [
        "rep@example.com",
        "sales_manager@example.com",
    ]
    assert {m["Subject"] for _, m in inbox.received} == {"First touch overdue by 1 min: Due soon"}
