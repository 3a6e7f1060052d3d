"""The connectors settings page: a sales manager sets up HubSpot (the token is sealed, never
shown back, never audited), bad stage tables get clear messages, 'sync now' records a run
whose progress and skips the page shows; reps are refused."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from connectors import crypto
from connectors.models import Connector, SyncRun, SyncSkip
from tests.connectors.conftest import NOW

pytestmark = pytest.mark.services

TOKEN = "pat-na1-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(world, **overrides):
    return {
        "sales_team": world.sales.pk,
        "marketing_team": world.marketing.pk,
        "run_as": world.bot.pk,
        "enabled": "on",
        "stage_map": "marketingqualifiedlead = mql\n# deals\nclosedwon = won\n",
        "writeback_first_touch_due": "sla_first_touch_due",
        "writeback_sla_status": "sla_status",
        "token": TOKEN,
        **overrides,
    }


def test_a_sales_manager_sets_up_hubspot_and_the_token_stays_sealed(world):
    client = signed_in(world.sales_manager)
    response = client.post("/settings/connectors/hubspot/", form(world))
    assert response.status_code == 302

    connector = Connector.objects.get(kind="hubspot")
    assert TOKEN not in connector.credentials
    assert crypto.unseal(connector.credentials) == {"token": TOKEN}
    assert connector.settings == {
        "stage_map": {"marketingqualifiedlead": "mql", "closedwon": "won"},
        "writeback": {"first_touch_due": "sla_first_touch_due", "sla_status": "sla_status"},
    }
    page = client.get("/settings/connectors/hubspot/").content.decode()
    assert TOKEN not in page and "Stored credentials: token" in page
    event = AuditEvent.objects.get(action="connector.save")
    assert TOKEN not in str(event.changes) and event.changes["credentials"] == "replaced: token"

    # Saving again with the token left blank keeps it.
    assert client.post("/settings/connectors/hubspot/", form(world, token="")).status_code == 302
    assert crypto.unseal(Connector.objects.get().credentials) == {"token": TOKEN}


def test_a_bad_stage_table_is_refused_with_the_line_and_the_stages(world):
    client = signed_in(world.sales_manager)
    response = client.post(
        "/settings/connectors/hubspot/", form(world, stage_map="lead = nurture\nsql\n")
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Line 1: “nurture” is not a stage" in text
    assert "Line 2: write it as “CRM stage = SLA Hub stage”." in text
    assert not Connector.objects.exists()


def test_sync_now_records_a_run_and_the_log_shows_its_counts_and_skips(
    world, django_capture_on_commit_callbacks
):
    client = signed_in(world.sales_manager)
    client.post("/settings/connectors/hubspot/", form(world))
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = client.post("/settings/connectors/hubspot/sync/")
    assert response.status_code == 302 and len(sent) == 1
    run = SyncRun.objects.get()
    assert (run.status, run.requested_by) == ("queued", world.sales_manager)
    # A second click while it waits does not queue another run.
    client.post("/settings/connectors/hubspot/sync/")
    assert SyncRun.objects.count() == 1

    SyncRun.objects.filter(pk=run.pk).update(
        status="running", started_at=NOW, pages=2, fetched=150, created=140, skipped=1
    )
    SyncSkip.objects.create(
        run=run, object_type="calls", external_id="calls:9002", reason="Not linked to a lead."
    )
    progress = client.get(f"/settings/connectors/hubspot/runs/{run.pk}/", HTTP_HX_REQUEST="true")
    text = progress.content.decode()
    assert "Sync " + str(run.pk) + ": running" in text and 'hx-trigger="every 2s"' in text
    assert "<dt>Fetched</dt><dd>150</dd>" in text
    detail = client.get(f"/settings/connectors/hubspot/runs/{run.pk}/").content.decode()
    assert "calls:9002" in detail and "Not linked to a lead." in detail


def test_reps_cannot_open_or_sync_connectors(world):
    signed_in(world.sales_manager).post("/settings/connectors/hubspot/", form(world))
    rep = signed_in(world.rep)
    assert rep.get("/settings/connectors/").status_code == 403
    assert rep.post("/settings/connectors/hubspot/sync/").status_code == 403
    assert not SyncRun.objects.exists()


def salesforce_form(world, **overrides):
    return {
        "sales_team": world.sales.pk,
        "run_as": world.bot.pk,
        "stage_map": "Marketing Qualified = mql",
        "instance_url": "https://acme.my.salesforce.com/",
        "login_url": "https://login.salesforce.com",
        "auth": "refresh",
        "client_id": "3MVG9-consumer-key",
        "client_secret": "consumer-secret",
        "refresh_token": "5Aep861-refresh",
        **overrides,
    }


def test_salesforce_is_set_up_with_its_instance_and_secrets_sealed(world):
    client = signed_in(world.sales_manager)
    response = client.post("/settings/connectors/salesforce/", salesforce_form(world))
    assert response.status_code == 302
    connector = Connector.objects.get(kind="salesforce")
    assert connector.settings["instance_url"] == "https://acme.my.salesforce.com"
    assert connector.settings["auth"] == "refresh"
    assert crypto.unseal(connector.credentials) == {
        "client_secret": "consumer-secret",
        "refresh_token": "5Aep861-refresh",
    }
    page = client.get("/settings/connectors/salesforce/").content.decode()
    assert "5Aep861-refresh" not in page and "consumer-secret" not in page
    assert "Stored credentials: client_secret, refresh_token" in page


def test_a_salesforce_instance_elsewhere_or_a_jwt_without_username_is_refused(world):
    client = signed_in(world.sales_manager)
    response = client.post(
        "/settings/connectors/salesforce/",
        salesforce_form(world, instance_url="http://169.254.169.254/", auth="jwt"),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Give the instance URL as https://…salesforce.com (or …force.com)" in text
    assert "The JWT bearer flow signs in as this username." in text
    assert not Connector.objects.exists()
