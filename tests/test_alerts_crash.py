"""A deliverer process killed mid-delivery (SIGKILL, on real PostgreSQL and real SMTP):
what it had sent stays sent, what it held is sent by another deliverer after the lease."""

import asyncio
import email
import email.policy
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from alerts import delivery
from alerts.models import Alert
from tests.factories import make_user
from tests.test_alerts_delivery import queue_alerts
from tests.test_alerts_smtp import free_port

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("UTC"))
ROOT = Path(__file__).resolve().parent.parent
DELIVER = (
    "import sys, django; django.setup(); from datetime import datetime; "
    "from alerts import delivery; delivery.deliver_pending(now=datetime.fromisoformat(sys.argv[1]))"
)


class StallingInbox:
    """Accepts messages, except that it hangs on the `stall_at`-th one (before answering),
    as a server does when the deliverer is killed in the middle of a conversation."""

    def __init__(self, stall_at: int) -> None:
        self.messages: list = []
        self.seen = 0
        self.stall_at = stall_at
        self.stalled, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.seen += 1
        if self.seen == self.stall_at:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 Requested action aborted"  # never accepted: the client is gone
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def inbox(settings):
    inbox, port = StallingInbox(stall_at=2), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    inbox.port = port
    yield inbox
    inbox.release.set()
    controller.stop()


def test_a_killed_deliverer_loses_nothing_and_duplicates_nothing(
    transactional_db, require_postgres, inbox, settings, tmp_path
):
    queue_alerts([make_user("ann"), make_user("bob")], 2)  # 4 alerts
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "slahub.settings",
        "SECRET_KEY": "crash-test",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
        "SLAHUB_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "ERROR",
    }
    worker = subprocess.Popen([sys.executable, "-c", DELIVER, T0.isoformat()], cwd=ROOT, env=env)
    try:
        assert inbox.stalled.wait(timeout=60), "the deliverer never reached the second message"
        worker.kill()  # SIGKILL in the middle of the second SMTP conversation
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -9

    statuses = Counter(Alert.objects.values_list("status", flat=True))
    assert statuses == {"sent": 1, "sending": 3}  # claimed as a batch, one sent and marked
    assert len(inbox.messages) == 1

    # Another deliverer: nothing until the dead one's lease runs out, then the rest, once.
    assert delivery.deliver_pending(now=T0 + timedelta(seconds=60)).sent == 0
    lease = timedelta(seconds=settings.ALERTS_LEASE_SECONDS)
    assert delivery.deliver_pending(now=T0 + lease).sent == 3

    ids = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(ids) == {a.message_id for a in Alert.objects.all()}
    assert set(ids.values()) == {1}
    assert Counter(Alert.objects.values_list("status", "attempts")) == {
        ("sent", 1): 1,
        ("sent", 2): 3,
    }


def test_a_celery_worker_killed_mid_delivery_loses_and_duplicates_nothing(
    transactional_db, require_postgres, inbox, settings, tmp_path
):
    """The same with a real Celery worker on Redis running the beat task `deliver_alerts`."""
    import uuid

    from django.utils import timezone

    from alerts import tasks
    from slahub.celery import app
    from tests.conftest import redis_url

    broker = redis_url()
    queue = f"alerts-crash-{uuid.uuid4().hex[:8]}"  # this test's worker only
    queue_alerts([make_user("ann"), make_user("bob")], 2)  # 4 alerts
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "slahub.settings",
        "SECRET_KEY": "crash-test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
        "SLAHUB_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "ERROR",
    }
    command = [sys.executable, "-m", "celery", "-A", "slahub", "worker", "--pool=solo"]
    command += ["-Q", queue, "--without-mingle", "--without-gossip", "--loglevel=ERROR"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        app.conf.update(broker_url=broker, broker_transport_options={})
        tasks.deliver_alerts.apply_async(queue=queue)
        assert inbox.stalled.wait(timeout=60), "the worker never reached the second message"
        worker.kill()
    finally:
        worker.kill()
        worker.wait(timeout=30)

    assert Counter(Alert.objects.values_list("status", flat=True)) == {"sent": 1, "sending": 3}
    lease = timedelta(seconds=settings.ALERTS_LEASE_SECONDS)
    assert delivery.deliver_pending(now=timezone.now()).sent == 0
    assert delivery.deliver_pending(now=timezone.now() + lease).sent == 3

    ids = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(ids) == {a.message_id for a in Alert.objects.all()}
    assert set(ids.values()) == {1}
