"""CSV imports: presets, custom mappings, a Celery task with progress and a per-row report
where bad rows never stop good ones and nothing is half-written."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.models import Import
from integrations.tasks import run_import
from leads.models import Lead

pytestmark = pytest.mark.services

HUBSPOT_CSV = (
    "Record ID,First Name,Last Name,Email,Company Name,Country/Region,Lifecycle Stage,"
    "HubSpot Score\n"
    "101,Ada,Lovelace,ada@example.com,Engines Ltd,United Kingdom,Marketing Qualified Lead,80\n"
    "102,Grace,Hopper,grace@example.com,Navy,US,Sales Qualified Lead,65\n"
    "103,Bad,Email,not-an-email,Acme,DE,Lead,10\n"
    ",No,Id,noid@example.com,Acme,DE,Lead,10\n"
    "105,Alan,Turing,alan@example.com,Bletchley,GB,Lead,high\n"
)


def _upload(client, content: str, **fields):
    return client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("contacts.csv", content.encode(), "text/csv"), **fields},
        format="multipart",
    )


def test_hubspot_export_with_bad_rows(sla, frozen, as_user, django_capture_on_commit_callbacks):
    client = as_user(sla.marketer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = _upload(client, HUBSPOT_CSV, preset="hubspot", sales_team=sla.sales.pk)
    assert answer.status_code == 202, answer.json()
    assert answer.json()["status"] == "pending"
    assert answer.json()["total_rows"] == 5
    assert len(callbacks) == 1  # the task is queued once the upload is committed

    run_import.apply(args=[answer.json()["id"]])  # what the worker runs

    done = client.get(f"/api/v1/imports/{answer.json()['id']}/").json()
    assert done["status"] == "done"
    assert (done["processed_rows"], done["created_count"], done["error_count"]) == (5, 2, 3)
    rows = client.get(f"/api/v1/imports/{done['id']}/rows/").json()["results"]
    assert [(r["number"], r["result"]) for r in rows] == [
        (2, "created"),
        (3, "created"),
        (4, "error"),
        (5, "error"),
        (6, "error"),
    ]
    assert rows[2]["errors"] == {"email": ["Enter a valid email address."]}
    assert rows[3]["errors"] == {"external_id": ["This field is required."]}
    assert rows[4]["errors"] == {"score": ["A valid integer is required."]}
    ada = Lead.objects.get(source_system="hubspot", external_id="101")
    assert (ada.name, ada.country, ada.stage, ada.score) == ("Ada Lovelace", "GB", "mql", 80)
    assert Lead.objects.get(external_id="102").stage == "sql"
    errors_only = client.get(f"/api/v1/imports/{done['id']}/rows/?result=error").json()
    assert errors_only["count"] == 3


def test_importing_the_same_file_again_changes_nothing(sla, frozen, as_user):
    client = as_user(sla.marketer)
    first = _upload(client, HUBSPOT_CSV, preset="hubspot", sales_team=sla.sales.pk).json()
    run_import.apply(args=[first["id"]])
    second = _upload(client, HUBSPOT_CSV, preset="hubspot", sales_team=sla.sales.pk).json()
    run_import.apply(args=[second["id"]])

    record = Import.objects.get(pk=second["id"])
    assert (record.created_count, record.unchanged_count, record.error_count) == (0, 2, 3)
    assert Lead.objects.count() == 2


def test_a_row_that_fails_half_way_leaves_nothing_behind(org, now, frozen, as_user):
    """With no active agreement there is no default sales team: creating the lead works but
    its hand-off fails, and the row's savepoint takes the created lead back."""
    from tests.factories import make_user

    csv_text = "Id,Name,Handed off\nc-1,Half Done,2026-11-25T09:00:00+01:00\nc-2,Fine,\n"
    client = as_user(make_user("ops", is_staff=True))
    answer = _upload(
        client,
        csv_text,
        preset="custom",
        mapping='{"external_id": "Id", "name": "Name", "handed_off_at": "Handed off"}',
    )
    assert answer.status_code == 202, answer.json()
    run_import.apply(args=[answer.json()["id"]])

    rows = client.get(f"/api/v1/imports/{answer.json()['id']}/rows/").json()["results"]
    assert [r["result"] for r in rows] == ["error", "created"]
    assert rows[0]["errors"] == {"sales_team": ["Choose the sales team that receives the lead."]}
    assert list(Lead.objects.values_list("external_id", flat=True)) == ["c-2"]


def test_a_mapping_naming_missing_columns_is_refused(sla, frozen, as_user):
    answer = _upload(
        as_user(sla.marketer),
        "Id,Name\n1,x\n",
        preset="custom",
        mapping='{"external_id": "Id", "name": "Full name", "colour": "Name"}',
        sales_team=sla.sales.pk,
    )

    assert answer.status_code == 400
    assert answer.json()["fields"] == {
        "mapping": [
            "'colour' is not a lead field (choose from external_id, name, email, company, "
            "title, phone, country, tier, score, lead_source, campaign, stage, handed_off_at, "
            "rejection_reason, owner_email, owner_name, created_at)."
        ]
    }
    assert Import.objects.count() == 0


def test_salesforce_preset_and_other_users_imports(sla, frozen, as_user, outsider):
    csv_text = (
        "Lead ID,First Name,Last Name,Email,Company,Lead Status,Rating\n"
        "00Q1,Marie,Curie,marie@example.com,Institut,Open - Not Contacted,Hot\n"
    )
    client = as_user(sla.marketer)
    answer = _upload(client, csv_text, preset="salesforce", sales_team=sla.sales.pk).json()
    run_import.apply(args=[answer["id"]])

    marie = Lead.objects.get(source_system="salesforce", external_id="00Q1")
    assert (marie.stage, marie.tier, marie.company) == ("mql", "Hot", "Institut")
    assert as_user(outsider).get(f"/api/v1/imports/{answer['id']}/").status_code == 404


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"  # an image uploaded by mistake


def test_a_file_that_is_not_a_csv_is_refused(sla, frozen, as_user):
    client = as_user(sla.marketer)
    binary = client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("x.csv", PNG, "text/csv"), "preset": "hubspot"},
        format="multipart",
    )
    assert binary.status_code == 400
    assert binary.json()["fields"] == {"file": ["This is not a text CSV file."]}
    huge_cell = "Record ID,First Name\n1," + "x" * 200_000 + "\n"
    wide = _upload(client, huge_cell, preset="hubspot", sales_team=sla.sales.pk)
    assert wide.status_code == 400
    assert list(wide.json()["fields"]) == ["file"]


def test_old_rows_need_a_staff_uploaders_backfill_reason(sla, frozen, as_user):
    from leads.models import Backfill
    from tests.factories import make_user

    staff = make_user("ops", is_staff=True)
    # Handed off 30 days before now (25 Nov 2026 10:00 Berlin): beyond the 7-day window.
    csv = (
        "Id,Name,Handed off\n"
        "old-1,Ada Lovelace,2026-10-26T09:00:00+01:00\n"
        "new-1,Grace Hopper,2026-11-24T09:00:00+01:00\n"
    )
    mapping = {"external_id": "Id", "name": "Name", "handed_off_at": "Handed off"}
    fields = {"preset": "custom", "mapping": json.dumps(mapping), "sales_team": sla.sales.pk}

    refused = _upload(as_user(staff), csv, **fields).json()
    run_import.apply(args=[refused["id"]])
    done = Import.objects.get(pk=refused["id"])
    assert (done.created_count, done.error_count) == (1, 1)  # only the recent row
    assert not Lead.objects.filter(external_id="old-1").exists()

    backfilled = _upload(
        as_user(staff), csv, backfill_reason="Onboarding October's leads", **fields
    ).json()
    run_import.apply(args=[backfilled["id"]])
    done = Import.objects.get(pk=backfilled["id"])
    assert (done.created_count, done.unchanged_count, done.error_count) == (1, 1, 0)
    old = Lead.objects.get(external_id="old-1")
    assert Backfill.objects.filter(lead=old, reason="Onboarding October's leads").exists()
