"""The beat: which runs it starts or resumes; and a CRM that cannot be reached."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from connectors import crypto
from connectors.models import Connector, SyncRun
from connectors.sync import adapter_for, runs_due, sync_run
from tests.connectors.conftest import NOW

pytestmark = pytest.mark.services

EVERY = timedelta(minutes=5)


@pytest.fixture
def connector(world):
    return Connector.objects.create(
        kind="hubspot",
        sales_team=world.sales,
        run_as=world.bot,
        credentials=crypto.seal({"token": "pat-x"}),
        created_at=NOW,
    )


def test_it_starts_a_run_when_the_last_is_older_than_the_interval(connector):
    SyncRun.objects.create(
        connector=connector, created_at=NOW - timedelta(minutes=4), status="done"
    )
    assert runs_due(now=NOW, every=EVERY) == []
    [pk] = runs_due(now=NOW + timedelta(minutes=1), every=EVERY)
    assert SyncRun.objects.get(pk=pk).status == "queued"


def test_it_resends_a_queued_run_and_resumes_a_dead_one_but_not_a_live_one(connector):
    queued = SyncRun.objects.create(connector=connector, created_at=NOW)
    assert runs_due(now=NOW, every=EVERY) == [queued.pk]

    SyncRun.objects.filter(pk=queued.pk).update(status="running")
    Connector.objects.filter(pk=connector.pk).update(lease_until=NOW + timedelta(minutes=3))
    assert runs_due(now=NOW, every=EVERY) == []  # its worker holds the lease
    assert runs_due(now=NOW + timedelta(minutes=4), every=EVERY) == [queued.pk]  # it died
    assert SyncRun.objects.count() == 1


def test_a_disabled_connector_is_not_pulled(connector):
    Connector.objects.filter(pk=connector.pk).update(enabled=False)
    assert runs_due(now=NOW, every=EVERY) == []


def test_an_unreachable_crm_fails_the_run_with_a_message(connector):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector.settings = {"api_base": f"http://127.0.0.1:{port}"}
    connector.save()
    run = SyncRun.objects.create(connector=connector, created_at=NOW)
    run = sync_run(run_id=run.pk, clock=lambda: NOW, adapter=adapter_for(connector))
    assert run.status == "failed"
    assert run.error == "HubSpot could not be reached (search contacts): MaxRetryError."
    assert Connector.objects.get().lease_until is None  # released for the next run
