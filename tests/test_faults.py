"""The fault suite: real PostgreSQL, Redis, Celery workers (subprocesses), an HTTP
receiver and an SMTP server on loopback. Each test breaks something — Redis down under API
writes and checks, a worker SIGKILLed mid-delivery or mid-scan, two beats and two workers
at once, the worker's PostgreSQL connection terminated mid-import — and ends with exact
counts: every breach once, every alert and webhook once, no import row lost or doubled.

Each prints one `FAULT …` line with its counts (shown even without -s). Related faults
tested elsewhere, not repeated here: SMTP down then up (test_alerts_smtp.py), a deliverer
SIGKILLed mid-SMTP (test_alerts_crash.py), two concurrent scans (test_checks_concurrency.py),
two attempts at one slow receiver (test_webhooks_egress.py). See docs/reliability.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from agreements.models import Commitment
from alerts.models import Alert
from integrations import services as integration_services
from integrations.models import Import, ImportRow, WebhookDelivery, WebhookSubscription
from integrations.tasks import deliver_webhook, run_import, sweep_imports, sweep_webhooks
from leads import checks
from leads.models import Breach, Lead, Obligation
from tests.celery_workers import (
    ROOT,
    Beat,
    Worker,
    drop_queues,
    new_queue,
    producer,
    wait_for,
)
from tests.conftest import redis_url
from tests.factories import activate, add_commitment, make_lead, make_org, make_user
from tests.test_alerts_crash import StallingInbox
from tests.test_alerts_smtp import free_port
from tests.webhook_receivers import Receiver, closed_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def report(request, name: str, started: float, **counts) -> None:
    """The test's counts: printed (-s) and, through the report's user_properties, listed in
    the "fault suite" summary at the end of the run (tests/conftest.py; works under xdist)."""
    line = " ".join(f"{k}={v}" for k, v in counts.items())
    line = f"FAULT {name}: {line} ({time.monotonic() - started:.1f}s)"
    request.node.user_properties.append(("fault", line))
    print(line)


@pytest.fixture
def broker(require_postgres):
    url = redis_url()
    yield url
    drop_queues(url)


@pytest.fixture
def org():
    """An active agreement (first touch within 1 hour, calendar clock) a day old."""
    real_now = timezone.now()
    org = make_org(now=real_now - timedelta(days=1))
    add_commitment(org.version, Commitment.Kind.FIRST_TOUCH, within="PT1H", clock="calendar")
    activate(org, now=real_now - timedelta(days=1))
    return org


def overdue_leads(org, count: int) -> list[Lead]:
    """Leads handed off two hours ago: each first touch fell due an hour ago."""
    handed = timezone.now() - timedelta(hours=2)
    return [make_lead(org, now=handed, handed_off_at=handed) for _ in range(count)]


def subscribe(url: str, events: list[str]) -> WebhookSubscription:
    owner = make_user(f"hooks{WebhookSubscription.objects.count()}", is_staff=True)
    return WebhookSubscription.objects.create(owner=owner, url=url, events=events, secret="s")


@pytest.fixture
def receiver(settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    with Receiver(204) as receiver:
        yield receiver


@pytest.fixture
def inbox():
    inbox, port = StallingInbox(stall_at=0), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def delivered_once(receiver) -> Counter:
    return Counter(headers["X-SLAHub-Delivery"] for _path, headers, _body in receiver.requests)


def test_redis_down_api_writes_and_checks_answer_and_the_sweepers_lose_nothing(
    broker, org, receiver, tmp_path, request
):
    started = time.monotonic()
    queue = new_queue("redis-down")
    subscribe(receiver.url, ["breach.created", "lead.handed_off"])
    with producer(f"redis://127.0.0.1:{closed_port()}/0", queue):  # Redis is down
        leads = overdue_leads(org, 30)
        marketer, rep = APIClient(), APIClient()
        marketer.force_authenticate(org.marketer)
        rep.force_authenticate(org.rep)
        handed = (timezone.now() - timedelta(hours=2)).isoformat()
        pushed = marketer.post(
            "/api/v1/leads/",
            {
                "source_system": "crm",
                "external_id": "crm-down",
                "name": "Ada",
                "sales_team": org.sales.pk,
                "marketing_team": org.marketing.pk,
                "owner": org.rep.pk,
                "handed_off_at": handed,
            },
            format="json",
        )
        assert pushed.status_code == 201, pushed.content
        touched = rep.post(
            "/api/v1/activities/",
            {"lead": leads[0].pk, "kind": "call", "occurred_at": timezone.now().isoformat()},
            format="json",
        )
        assert touched.status_code == 201, touched.content  # a late touch: its breach too
        from django.core.files.uploadedfile import SimpleUploadedFile

        csv_text = "Id,Name\n" + "".join(f"i-{n},Imported {n}\n" for n in range(10))
        uploaded = marketer.post(
            "/api/v1/imports/",
            {
                "file": SimpleUploadedFile("leads.csv", csv_text.encode(), "text/csv"),
                "preset": "custom",
                "mapping": '{"external_id": "Id", "name": "Name"}',
                "sales_team": org.sales.pk,
            },
            format="multipart",
        )
        assert uploaded.status_code == 202, uploaded.content
        assert uploaded.json()["status"] == "pending"

        out = StringIO()
        call_command("run_checks", stdout=out)  # raises CommandError if a step failed
        steps = [line.split(":")[0] for line in out.getvalue().splitlines()]
        assert {"webhook sweep", "import sweep", "alert delivery"} <= set(steps)
    breaches = Breach.objects.count()
    assert breaches == 31  # 30 overdue leads (one by its late touch) and the pushed one
    assert Obligation.objects.filter(status="open", due_at__lte=timezone.now()).count() == 0
    alerts = Alert.objects.filter(status="sent").count()
    assert alerts == len(mail.outbox) > 0  # the email outbox needs no broker
    assert not Alert.objects.filter(status__in=["pending", "sending"]).exists()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}

    # Redis is back: a worker, and the sweepers (beat or run_checks) send what was recorded.
    with producer(broker, queue), Worker(broker, queue, tmp_path):
        assert sweep_imports(now=timezone.now() + timedelta(minutes=2)) == 1
        swept = sweep_webhooks(now=timezone.now() + timedelta(minutes=6))
        wait_for(
            lambda: (
                not WebhookDelivery.objects.exclude(status="delivered").exists()
                and Import.objects.filter(status="done").exists()
            ),
            what="the deliveries and the import",
        )
    deliveries = WebhookDelivery.objects.count()
    assert deliveries == 31 + 31  # a breach.created and a lead.handed_off per lead
    sent = delivered_once(receiver)
    assert len(sent) == deliveries and set(sent.values()) == {1}
    assert Lead.objects.filter(external_id__startswith="i-").count() == 10
    report(
        request,
        "redis-down",
        started,
        api_writes="201,201,202",
        breaches=breaches,
        alerts_sent=alerts,
        webhooks_swept=swept,
        webhooks_delivered_once=len(sent),
        import_rows=10,
    )


def test_a_worker_killed_mid_webhook_delivery_loses_and_doubles_nothing(
    broker, org, settings, tmp_path, request
):
    started = time.monotonic()
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    queue = new_queue("kill-delivery")
    with Receiver(204, stall_at=2) as receiver, producer(broker, queue):
        subscription = subscribe(receiver.url, ["breach.created"])
        now = timezone.now()
        ids = [
            WebhookDelivery.objects.create(
                subscription=subscription,
                event="breach.created",
                payload={"event": "breach.created", "data": {"n": n}},
                created_at=now,
                next_attempt_at=now,
            ).pk
            for n in range(4)
        ]
        worker = Worker(broker, queue, tmp_path, WEBHOOK_LEASE_SECONDS="2").start()
        try:
            for pk in ids:
                deliver_webhook.delay(pk)
            assert receiver.stalled.wait(timeout=60), "the worker never reached the second"
            assert worker.kill() == -9  # SIGKILL while the receiver holds the second POST
        finally:
            worker.kill()
        killed = Counter(WebhookDelivery.objects.values_list("status", flat=True))
        assert killed == {"delivered": 1, "sending": 1, "pending": 2}
        receiver.release.set()

        time.sleep(2.1)  # the dead worker's lease runs out
        with Worker(broker, queue, tmp_path):
            swept = sweep_webhooks(now=timezone.now())
            wait_for(lambda: not WebhookDelivery.objects.exclude(status="delivered").exists())
    sent = delivered_once(receiver)
    assert len(sent) == 4 and set(sent.values()) == {1}
    attempts = Counter(WebhookDelivery.objects.values_list("attempts", flat=True))
    assert attempts == {1: 3, 2: 1}  # the one held by the dead worker took a second attempt
    report(
        request,
        "sigkill-mid-delivery",
        started,
        at_kill=dict(killed),
        swept=swept,
        delivered_once=len(sent),
        attempts=dict(attempts),
    )


def test_a_scan_killed_mid_run_records_every_breach_alert_and_webhook_once(
    broker, org, settings, tmp_path, request
):
    started = time.monotonic()
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    subscribe("http://127.0.0.1:9/never-sent", ["breach.created"])
    queue = new_queue("kill-scan")
    with producer(broker, queue):
        overdue_leads(org, 150)
    scan = (
        "import django; django.setup(); from django.utils import timezone; "
        "from leads import checks; checks.breach_due_obligations(now=timezone.now(), batch=3)"
    )
    env = Worker(broker, queue, tmp_path).env
    process = subprocess.Popen([sys.executable, "-c", scan], cwd=ROOT, env=env)
    try:
        wait_for(lambda: Breach.objects.count() >= 6, what="the scan's first batches")
        process.kill()
    finally:
        process.kill()
        process.wait(timeout=30)
    at_kill = Breach.objects.count()
    assert 0 < at_kill < 150, "the scan finished before it was killed"
    # Every committed batch is whole: its breaches, alerts and deliveries together.
    assert WebhookDelivery.objects.count() == at_kill
    assert Alert.objects.values("key").distinct().count() == at_kill

    with producer(broker, queue):
        checks.deadline_scan(now=timezone.now())
    assert Breach.objects.count() == 150
    assert Obligation.objects.filter(status="breached").count() == 150
    per_breach = Counter(Alert.objects.values_list("key", flat=True))
    assert len(per_breach) == 150 and len(set(per_breach.values())) == 1
    assert Counter(WebhookDelivery.objects.values_list("payload__data__id", flat=True)) == Counter(
        {b: 1 for b in Breach.objects.values_list("pk", flat=True)}
    )
    report(
        request,
        "sigkill-mid-scan",
        started,
        breaches_at_kill=at_kill,
        breaches=150,
        alerts=sum(per_breach.values()),
        webhooks=WebhookDelivery.objects.count(),
    )


def test_two_beats_and_two_workers_record_and_send_everything_once(
    broker, org, receiver, inbox, tmp_path, request
):
    started = time.monotonic()
    receiver.delay = 0.05
    subscribe(receiver.url, ["breach.created"])
    queue = new_queue("two-workers")
    with producer(broker, queue):
        overdue_leads(org, 40)
        email = {"EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}"}
        with Worker(broker, queue, tmp_path, **email), Worker(broker, queue, tmp_path, **email):
            from alerts import tasks as alert_tasks

            # Two real beats on the same schedule (checks every 2 s here) fire every task twice.
            beats = {"SLAHUB_CHECK_INTERVAL": "2"}
            with Beat(broker, queue, tmp_path, **beats), Beat(broker, queue, tmp_path, **beats):
                wait_for(lambda: Breach.objects.count() >= 40, what="the scans")
                time.sleep(2.5)  # another round from both beats: nothing more to record
            for _beat in range(2):  # and both sweep, so workers race on each delivery
                sweep_webhooks(now=timezone.now() + timedelta(minutes=6))
            deadline = time.monotonic() + 60
            unsent = Alert.objects.filter(status__in=["pending", "sending"])
            while unsent.exists() and time.monotonic() < deadline:
                for _beat in range(2):
                    alert_tasks.deliver_alerts.delay()
                time.sleep(0.5)
            wait_for(lambda: not WebhookDelivery.objects.exclude(status="delivered").exists())
    assert Breach.objects.count() == 40
    deliveries = Counter(WebhookDelivery.objects.values_list("status", "attempts"))
    assert deliveries == {("delivered", 1): 40}
    sent = delivered_once(receiver)
    assert len(sent) == 40 and set(sent.values()) == {1}
    ids = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(ids) == {a.message_id for a in Alert.objects.filter(status="sent")}
    assert set(ids.values()) == {1} and not unsent.exists()
    report(
        request,
        "two-beats-two-workers",
        started,
        breaches=40,
        webhooks_delivered_once=len(sent),
        emails_once=len(ids),
    )


def test_the_workers_database_connection_dropped_mid_import_resumes_exactly(
    broker, org, tmp_path, request
):
    started = time.monotonic()
    queue = new_queue("pg-drop")
    rows = 600
    csv_text = "Id,Name\n" + "".join(f"p-{n},Imported {n}\n" for n in range(rows))
    with producer(broker, queue):
        record = integration_services.import_create(
            user=org.marketer,
            content=csv_text,
            filename="big.csv",
            preset="custom",
            mapping={"external_id": "Id", "name": "Name"},
            source_system="crm",
            sales_team=org.sales,
            marketing_team=None,
            now=timezone.now(),
        )
        chunks = {"IMPORT_CHUNK_ROWS": "100", "IMPORT_LEASE_SECONDS": "3"}
        with Worker(broker, queue, tmp_path, **chunks):
            run_import.delay(record.pk)
            wait_for(
                lambda: Import.objects.get(pk=record.pk).processed_rows >= 100,
                what="the first chunk",
            )
            # The worker holds a connection only while a task runs (CONN_MAX_AGE=0): try until
            # one is caught in the middle of a chunk.
            terminated, at_drop = 0, 0
            while not terminated and Import.objects.get(pk=record.pk).status != "done":
                at_drop = Import.objects.get(pk=record.pk).processed_rows
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'"
                    )
                    terminated = cursor.fetchone()[0]
                time.sleep(0.02)
            deadline = time.monotonic() + 90
            swept = 0
            while Import.objects.get(pk=record.pk).status != "done":
                assert time.monotonic() < deadline, "the import never finished"
                swept += sweep_imports(now=timezone.now())  # the beat task, every minute
                time.sleep(1)
    done = Import.objects.get(pk=record.pk)
    assert (done.processed_rows, done.created_count, done.error_count) == (rows, rows, 0)
    numbers = list(ImportRow.objects.filter(import_run=done).values_list("number", flat=True))
    assert sorted(numbers) == list(range(2, rows + 2))
    assert Lead.objects.filter(external_id__startswith="p-").count() == rows
    assert terminated >= 1 and at_drop < rows, "the import finished before the drop"
    report(
        request,
        "pg-terminate-mid-import",
        started,
        rows=rows,
        processed_at_drop=at_drop,
        backends_terminated=terminated,
        resumed_by_sweeper=swept,
        created_once=done.created_count,
    )


def test_a_late_celery_retry_and_the_sweeper_racing_send_a_webhook_once(
    broker, org, settings, tmp_path, request
):
    """The issue's case: a delivery whose retry message came late is also picked up by the
    5-minute sweeper; two workers take the two messages at the same moment. The claim
    (alerts.outbox) lets one of them send; the receiver, a real server on loopback that
    answers slowly, sees one POST."""
    started = time.monotonic()
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    queue = new_queue("late-retry")
    with Receiver(204, delay=1.5) as receiver, producer(broker, queue):
        subscription = subscribe(receiver.url, ["breach.created"])
        now = timezone.now()
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event="breach.created",
            payload={"event": "breach.created", "data": {"n": 1}},
            created_at=now - timedelta(minutes=10),
            next_attempt_at=now - timedelta(minutes=6),  # its retry is six minutes late
            attempts=1,
            last_error="HTTP 503",
        )
        with Worker(broker, queue, tmp_path), Worker(broker, queue, tmp_path):
            deliver_webhook.delay(delivery.pk)  # the late Celery retry
            swept = sweep_webhooks(now=timezone.now())  # the sweeper's own message
            wait_for(lambda: WebhookDelivery.objects.get().status == "delivered")
            time.sleep(3)  # both messages have run: the loser found the row claimed or sent
    sent = delivered_once(receiver)
    assert swept == 1
    assert list(sent.values()) == [1]
    assert WebhookDelivery.objects.get().attempts == 2  # one claim after the failed try
    report(request, "late-retry-and-sweeper", started, swept=swept, posts=len(receiver.requests))
