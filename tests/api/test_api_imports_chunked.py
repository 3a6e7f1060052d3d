"""Large CSV imports run in chunks from a stored offset: progress is kept, a chunk killed
half-way (here: its database connection lost) resumes without doubling or losing a row,
and an import nobody is working on is found by the sweeper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from integrations import services
from integrations.models import Import, ImportRow
from integrations.tasks import run_import
from leads.models import Lead

pytestmark = pytest.mark.services

MAPPING = '{"external_id": "Id", "name": "Name", "email": "Email"}'


def big_csv(rows: int) -> str:
    lines = ["Id,Name,Email"]
    lines += [f"c-{n},Lead {n},lead{n}@example.com" for n in range(rows)]
    lines[7] = "c-bad,Bad Email,not-an-email"  # one error row among them
    return "\n".join(lines) + "\n"


def upload(client, content: str, sales_team: int) -> dict:
    answer = client.post(
        "/api/v1/imports/",
        {
            "file": SimpleUploadedFile("big.csv", content.encode(), "text/csv"),
            "preset": "custom",
            "mapping": MAPPING,
            "sales_team": sales_team,
        },
        format="multipart",
    )
    assert answer.status_code == 202, answer.json()
    return answer.json()


@pytest.fixture
def client(sla, frozen, as_user):
    return as_user(sla.marketer)


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.IMPORT_CHUNK_ROWS = 100


def test_an_import_runs_chunk_by_chunk_with_progress(client, sla, now):
    record = upload(client, big_csv(230), sla.sales.pk)
    progress = []
    while True:
        chunk = services.import_run_chunk(import_id=record["id"], now=now)
        shown = client.get(f"/api/v1/imports/{record['id']}/").json()
        progress.append((shown["status"], shown["processed_rows"], shown["total_rows"]))
        if not chunk.more:
            break
    assert progress == [("running", 100, 230), ("running", 200, 230), ("done", 230, 230)]
    done = Import.objects.get(pk=record["id"])
    assert (done.created_count, done.error_count, done.unchanged_count) == (229, 1, 0)
    assert ImportRow.objects.filter(import_run=done).count() == 230
    assert Lead.objects.count() == 229
    # Done is done: another run (a duplicate message) changes nothing.
    assert services.import_run_chunk(import_id=done.pk, now=now).claimed is False


def test_a_chunk_cut_short_resumes_from_its_offset_without_doubling(client, sla, now, monkeypatch):
    record = upload(client, big_csv(230), sla.sales.pk)
    real = services.lead_upsert_many
    calls = {"n": 0}

    def dropping(*args, **kwargs):
        calls["n"] += 1
        outcome = real(*args, **kwargs)
        if calls["n"] == 2:  # the second chunk's rows upserted, then the connection is lost
            raise OperationalError("server closed the connection unexpectedly")
        return outcome

    monkeypatch.setattr(services, "lead_upsert_many", dropping)
    result = run_import.apply(args=[record["id"]])
    assert isinstance(result.result, OperationalError)
    cut = Import.objects.get(pk=record["id"])
    # A chunk's rows commit whole: the first chunk's 100 rows stay, the chunk that broke
    # (rows 101-200, upserted before the failure) left nothing.
    assert (cut.status, cut.processed_rows, cut.lease_until) == ("running", 100, None)
    assert Lead.objects.count() == 99  # row 8 is the error row
    assert services.imports_to_resume(now=now) == [cut.pk]

    monkeypatch.setattr(services, "lead_upsert_many", real)
    run_import.apply(args=[record["id"]])
    done = Import.objects.get(pk=record["id"])
    assert (done.status, done.processed_rows) == ("done", 230)
    assert (done.created_count, done.error_count, done.unchanged_count) == (229, 1, 0)
    numbers = list(ImportRow.objects.filter(import_run=done).values_list("number", flat=True))
    assert sorted(numbers) == list(range(2, 232))
    assert Lead.objects.count() == 229


def test_a_held_import_waits_for_its_lease_and_a_lost_message_is_swept(client, sla, now):
    record = upload(client, big_csv(20), sla.sales.pk)
    pk = record["id"]
    assert services.imports_to_resume(now=now) == []  # just uploaded: its message is on its way
    assert services.imports_to_resume(now=now + timedelta(minutes=2)) == [pk]
    Import.objects.filter(pk=pk).update(status="running", lease_until=now + timedelta(minutes=5))
    assert services.import_run_chunk(import_id=pk, now=now).claimed is False  # a live run
    assert services.imports_to_resume(now=now) == []
    later = now + timedelta(minutes=6)  # that run died: its lease expired
    assert services.imports_to_resume(now=later) == [pk]
    assert services.import_run_chunk(import_id=pk, now=later).status == "done"


def test_a_run_that_lost_its_lease_undoes_its_group(client, sla, now, monkeypatch):
    """A run slower than its lease finds another run's token when it writes progress: its
    group is rolled back and it stops, leaving the rows to the run that holds the import."""
    record = upload(client, big_csv(30), sla.sales.pk)
    real = services.lead_upsert_many

    def overtaken(*args, **kwargs):
        outcome = real(*args, **kwargs)  # the group's rows upserted, then the lease is lost
        Import.objects.filter(pk=record["id"]).update(claim_token="another-run")
        return outcome

    monkeypatch.setattr(services, "lead_upsert_many", overtaken)
    chunk = services.import_run_chunk(import_id=record["id"], now=now)
    assert (chunk.claimed, chunk.more, chunk.processed_rows) == (True, False, 0)
    assert not ImportRow.objects.exists()
    assert not Lead.objects.exists()
