"""The outbox deliverer: each alert sent once, retried with backoff, never lost."""

import contextlib
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction

from alerts import delivery, services
from alerts.content import Rendered
from alerts.models import Alert, Event
from tests.factories import make_user

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("UTC"))


def queue_alerts(users, count: int, *, now=T0, event=Event.BREACH) -> None:
    def build(user, tz):
        return Rendered(f"Alert for {user.username}", "plain text\n", "<p>html</p>")

    services.queue(
        [services.Notice(event, f"test:{i}", [u.pk for u in users], build) for i in range(count)],
        now=now,
    )


class BrokenBackend(BaseEmailBackend):
    """An email server that refuses every message."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def users(db):
    return [make_user("ann"), make_user("bob")]


def test_pending_alerts_are_sent_once_and_marked(users):
    queue_alerts(users, 3)
    result = delivery.deliver_pending(now=T0)
    assert (result.sent, result.retrying, result.failed) == (6, 0, 0)
    assert len(mail.outbox) == 6
    assert set(Alert.objects.values_list("status", "attempts", "sent_at")) == {("sent", 1, T0)}

    message = mail.outbox[0]
    alert = Alert.objects.get(to_email=message.to[0], key=message.extra_headers["X-SLAHub-Alert"])
    assert message.extra_headers["Message-ID"] == f"<alert-{alert.pk}@slahub>"
    assert message.subject == f"Alert for {alert.recipient.username}"
    assert message.body == "plain text\n"
    assert message.alternatives[0][0] == "<p>html</p>"

    assert delivery.deliver_pending(now=T0 + timedelta(hours=1)).sent == 0
    assert len(mail.outbox) == 6


def test_an_alert_created_later_waits_for_its_time(users):
    queue_alerts(users[:1], 1, now=T0 + timedelta(seconds=5))
    assert delivery.deliver_pending(now=T0).sent == 0
    assert delivery.deliver_pending(now=T0 + timedelta(seconds=5)).sent == 1


def test_held_and_skipped_alerts_are_not_sent_on_their_own(users):
    queue_alerts(users, 1)
    Alert.objects.filter(recipient=users[0]).update(status=Alert.Status.HELD)
    Alert.objects.filter(recipient=users[1]).update(status=Alert.Status.SKIPPED)
    assert delivery.deliver_pending(now=T0).sent == 0
    assert mail.outbox == []


def test_backoff_doubles_up_to_a_cap(settings):
    settings.ALERTS_RETRY_BASE_SECONDS, settings.ALERTS_RETRY_MAX_SECONDS = 30, 3600
    waits = [delivery.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_failures_are_retried_with_exponential_backoff_then_given_up(users, settings):
    settings.EMAIL_BACKEND = "tests.test_alerts_delivery.BrokenBackend"
    settings.ALERTS_MAX_ATTEMPTS = 3
    queue_alerts(users[:1], 1)
    alert = Alert.objects.get()

    assert delivery.deliver_pending(now=T0).retrying == 1
    alert.refresh_from_db()
    assert (alert.status, alert.attempts) == ("pending", 1)
    assert alert.next_attempt_at == T0 + timedelta(seconds=30)
    assert alert.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"

    assert delivery.deliver_pending(now=T0 + timedelta(seconds=29)).retrying == 0
    assert delivery.deliver_pending(now=T0 + timedelta(seconds=30)).retrying == 1
    alert.refresh_from_db()
    assert (alert.attempts, alert.next_attempt_at) == (2, T0 + timedelta(seconds=90))

    assert delivery.deliver_pending(now=T0 + timedelta(seconds=90)).failed == 1
    alert.refresh_from_db()
    assert (alert.status, alert.attempts) == ("failed", 3)
    assert delivery.deliver_pending(now=T0 + timedelta(days=1)).failed == 0


def test_a_killed_deliverers_rows_are_sent_after_the_lease(users, settings):
    settings.ALERTS_LEASE_SECONDS = 600
    queue_alerts(users, 2)
    # A deliverer claims the rows and dies before sending (or before marking them).
    token, claimed = delivery.claim(now=T0, limit=10)
    assert len(claimed) == 4
    assert set(Alert.objects.values_list("status", flat=True)) == {"sending"}

    assert delivery.deliver_pending(now=T0 + timedelta(seconds=599)).sent == 0
    assert delivery.deliver_pending(now=T0 + timedelta(seconds=600)).sent == 4
    assert len(mail.outbox) == 4
    assert set(Alert.objects.values_list("status", "attempts")) == {("sent", 2)}


def test_rows_locked_by_another_deliverer_are_skipped_not_waited_for(
    transactional_db, require_postgres
):
    users = [make_user("ann"), make_user("bob")]
    queue_alerts(users, 3)  # 6 alerts
    locked_ids = list(Alert.objects.order_by("id").values_list("pk", flat=True)[:2])
    holding, release = threading.Event(), threading.Event()

    def other_deliverer_mid_claim():
        try:
            with transaction.atomic():
                list(Alert.objects.select_for_update().filter(pk__in=locked_ids))
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    other = threading.Thread(target=other_deliverer_mid_claim)
    other.start()
    try:
        assert holding.wait(timeout=30)
        _, claimed = delivery.claim(now=T0, limit=10)
    finally:
        release.set()
        other.join(timeout=30)
    assert len(claimed) == 4
    assert not {a.pk for a in claimed} & set(locked_ids)


# Two deliverers at once, on real PostgreSQL -------------------------------------------


class RecordingBackend(BaseEmailBackend):
    """Records which deliverer sent which message; both deliverers meet at their first
    send, so each holds a claimed batch while the other claims."""

    sent: list[tuple[str, str]] = []
    lock = threading.Lock()
    meeting = threading.Barrier(2)

    def send_messages(self, email_messages):
        name = threading.current_thread().name
        with self.lock:
            first = not any(who == name for who, _ in self.sent)
        if first:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.meeting.wait(timeout=10)
        with self.lock:
            self.sent.extend((name, m.extra_headers["Message-ID"]) for m in email_messages)
        return len(email_messages)


def test_two_concurrent_deliverers_send_each_alert_once(
    transactional_db, require_postgres, settings
):
    settings.EMAIL_BACKEND = "tests.test_alerts_delivery.RecordingBackend"
    RecordingBackend.sent = []
    RecordingBackend.meeting = threading.Barrier(2)
    users = [make_user(f"user{i}") for i in range(5)]
    queue_alerts(users, 12)  # 60 alerts
    errors = []

    def deliverer():
        try:
            while delivery.deliver_batch(now=T0, limit=5).sent:
                pass
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliverer, name=f"deliverer-{i}") for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    ids = [message_id for _, message_id in RecordingBackend.sent]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    assert {who for who, _ in RecordingBackend.sent} == {"deliverer-1", "deliverer-2"}
    assert set(Alert.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_failed_alert_can_be_put_back_in_line(users, settings):
    settings.EMAIL_BACKEND = "tests.test_alerts_delivery.BrokenBackend"
    settings.ALERTS_MAX_ATTEMPTS = 1
    queue_alerts(users[:1], 1)
    assert delivery.deliver_pending(now=T0).failed == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = T0 + timedelta(days=2)
    assert delivery.deliver_pending(now=later).sent == 0
    assert delivery.retry_now(list(Alert.objects.values_list("pk", flat=True)), now=later) == 1
    assert delivery.deliver_pending(now=later).sent == 1
    assert len(mail.outbox) == 1
