"""Checks run by many workers at once still record each breach exactly once, and the
real Celery worker on Redis records breaches from the beat-scheduled task."""

import threading
import time as wall
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from leads import checks
from leads.models import Breach, Obligation
from tests.conftest import redis_url
from tests.factories import activate, add_commitment, make_lead, make_org

BERLIN = ZoneInfo("Europe/Berlin")
HANDED = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)


def org_with_overdue_leads(count: int):
    org = make_org(now=HANDED)
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    activate(org, now=HANDED)
    for _ in range(count):
        make_lead(org, now=HANDED, handed_off_at=HANDED)
    return org


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scans_create_each_breach_once(require_postgres):
    org_with_overdue_leads(120)
    later = HANDED + timedelta(hours=2)
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            start.wait()
            counts.append(checks.breach_due_obligations(now=later, batch=7))
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sum(counts) == 120
    assert Breach.objects.count() == 120
    assert Obligation.objects.filter(status="breached").count() == 120


@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_on_redis_records_the_breach(require_postgres):
    # (An in-memory SQLite test database cannot be shared with the worker's thread.)
    from celery.contrib.testing.worker import start_worker

    from leads import tasks
    from slahub.celery import app

    broker = redis_url()
    org_with_overdue_leads(1)
    app.conf.update(broker_url=broker, broker_transport_options={})
    with (
        time_machine.travel(HANDED + timedelta(hours=3), tick=True),
        start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"),
    ):
        tasks.deadline_scan.delay()
        deadline = wall.monotonic() + 30
        while not Breach.objects.exists() and wall.monotonic() < deadline:
            wall.sleep(0.1)  # waiting for the worker, not for a clock

    breach = Breach.objects.get()
    assert breach.due_at == HANDED + timedelta(hours=1)
    assert breach.detected_at >= HANDED + timedelta(hours=3)
