"""The imports pages: upload → preview (the first rows through the import's own mapping,
errors on their cells) → start → progress → per-row report; a start that cannot be
queued says so and leaves nothing behind; the whole flow with a real Celery worker."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from integrations.models import Import
from leads.models import Lead
from tests.celery_workers import ROOT, Worker, drop_queues, new_queue, producer, wait_for
from tests.conftest import redis_url
from tests.factories import activate, add_commitment, make_org, make_user

SALESFORCE = (
    "Lead ID,First Name,Last Name,Email,Company,Country,Lead Status\n"
    "00Q1,Anna,Weber,anna@acme.example,Acme,Germany,Open - Not Contacted\n"
    "00Q2,Bernd,Koch,not-an-email,Globex,DE,Working - Contacted\n"
    "00Q3,,,carla@initech.example,Initech,FR,Open - Not Contacted\n"
)


@pytest.fixture
def org(org, now):
    """The agreement in force: marketing may route leads to the sales team."""
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=now)
    return org


def upload(content: str = SALESFORCE, name: str = "leads.csv"):
    return SimpleUploadedFile(name, content.encode(), "text/csv")


def preview(client, org, *, content: str = SALESFORCE, **fields):
    data = {"file": upload(content), "preset": "salesforce", "sales_team": org.sales.pk}
    return client.post(reverse("import-preview"), {**data, **fields})


def report_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.django_db
def test_the_preview_reads_the_rows_as_the_import_will_and_imports_nothing(client, org):
    client.force_login(org.marketer)
    response = preview(client, org)
    assert response.status_code == 200
    p = response.context["preview"]
    assert p.total_rows == 3
    assert p.mapping == {
        "external_id": "Lead ID",
        "name": ["First Name", "Last Name"],
        "email": "Email",
        "company": "Company",
        "country": "Country",
        "stage": "Lead Status",
    }
    table = [[(c.value, c.errors) for c in row.cells] for row in p.rows]
    assert table[0] == [
        ("00Q1", []), ("Anna Weber", []), ("anna@acme.example", []), ("Acme", []),
        ("DE", []), ("mql", []),
    ]  # fmt: skip
    assert table[1][2] == ("not-an-email", ["Enter a valid email address."])
    assert table[1][5] == ("sal", [])  # Working - Contacted
    assert table[2][1] == ("", ["This field cannot be blank."])  # no name: the model says
    assert [(row.number, row.result) for row in p.rows] == [
        (2, "created"), (3, "error"), (4, "error"),
    ]  # fmt: skip
    assert "Start import of 3 rows" in response.content.decode()
    assert Import.objects.count() == 0 and Lead.objects.count() == 0


@pytest.mark.django_db
def test_a_custom_mapping_and_its_mistakes_are_explained_next_to_the_field(client, org):
    client.force_login(org.marketer)
    custom = "Id;Full name;Mail\nx-1;Ada Lovelace;ada@example.com\n"
    ok = preview(
        client, org, content=custom, preset="custom",
        mapping="external_id: Id\nname: Full name\nemail: Mail",
    )  # fmt: skip
    assert ok.status_code == 200
    assert [(c.value, c.errors) for c in ok.context["preview"].rows[0].cells] == [
        ("x-1", []), ("Ada Lovelace", []), ("ada@example.com", []),
    ]  # fmt: skip
    cases = {
        "external_id Id": "Line 1: write it as field: Column (e.g. external_id: Lead ID).",
        "external_id: Id\nnickname: Full name": "'nickname' is not a lead field",
        "external_id: Identifier": "The file has no column 'Identifier'.",
        "name: Full name": "Map a column to external_id (the record's id in the CRM).",
    }
    for mapping, message in cases.items():
        bad = preview(client, org, content=custom, preset="custom", mapping=mapping)
        assert bad.status_code == 400
        errors = " ".join(bad.context["form"].errors["mapping"])
        assert message in errors, (mapping, errors)
    assert Import.objects.count() == 0


@pytest.mark.django_db
def test_a_file_that_is_not_a_csv_or_a_team_not_his_is_refused_clearly(client, org):
    client.force_login(org.marketer)
    binary = client.post(
        reverse("import-preview"),
        {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00\x01"), "preset": "salesforce"},
    )
    assert binary.status_code == 400
    assert binary.context["form"].errors["file"] == ["Save the CSV as UTF-8 and upload it again."]
    no_team = client.post(reverse("import-preview"), {"file": upload(), "preset": "salesforce"})
    assert no_team.status_code == 400
    assert no_team.context["form"].errors["sales_team"] == [
        "Choose the sales team (or marketing team)."
    ]


@pytest.mark.django_db
def test_start_without_a_preview_or_twice_never_makes_a_second_import(client, org):
    client.force_login(org.marketer)
    stale = client.post(reverse("import-start"), {"token": "nope"}, follow=True)
    assert [str(m) for m in stale.context["messages"]] == [
        "That upload is no longer waiting: upload the file again."
    ]
    token = preview(client, org).context["upload"]["token"]
    broker, queue = redis_url(), new_queue("web-import")
    try:
        with producer(broker, queue):  # no worker: the message waits in the queue
            first = client.post(reverse("import-start"), {"token": token})
            second = client.post(reverse("import-start"), {"token": token})
    finally:
        drop_queues(broker)
    record = Import.objects.get()
    assert first["Location"] == second["Location"] == f"/imports/{record.pk}/"
    assert (record.status, record.total_rows, record.filename) == ("pending", 3, "leads.csv")
    page = client.get(f"/imports/{record.pk}/").content.decode()
    assert "waiting for the worker" in page and 'hx-trigger="every 1s"' in page


@pytest.mark.django_db
def test_a_start_that_cannot_be_queued_says_so_and_leaves_nothing_behind(client, org):
    client.force_login(org.marketer)
    token = preview(client, org).context["upload"]["token"]
    with producer("redis://127.0.0.1:1/0", new_queue("down")):  # nothing listens there
        refused = client.post(reverse("import-start"), {"token": token})
    assert refused.status_code == 503
    assert "The import could not be queued" in refused.content.decode()
    assert Import.objects.count() == 0
    # The upload still waits: once the broker is back, the same button makes one import.
    broker, queue = redis_url(), new_queue("back")
    try:
        with producer(broker, queue):
            again = client.post(reverse("import-start"), {"token": token})
    finally:
        drop_queues(broker)
    assert again.status_code == 302
    assert Import.objects.count() == 1


@pytest.mark.django_db
def test_an_import_is_its_uploaders_and_staffs(client, org):
    record = Import.objects.create(
        user=org.marketer, content="Id\n1\n", filename="mine.csv", preset="custom",
        mapping={"external_id": "Id"}, source_system="csv", total_rows=1,
        created_at=timezone.now(),
    )  # fmt: skip
    staff = make_user("boss", is_staff=True)
    for user, code in [(org.marketer, 200), (org.sales_manager, 404), (staff, 200)]:
        client.force_login(user)
        for name in ("import-detail", "import-progress", "import-report"):
            assert client.get(reverse(name, args=[record.pk])).status_code == code, (user, name)
    client.force_login(org.sales_manager)
    assert "mine.csv" not in client.get(reverse("import-list")).content.decode()


# With a real worker -------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_upload_preview_start_progress_and_report_with_a_real_worker(
    client, require_postgres, tmp_path
):
    org = make_org(now=timezone.now() - timedelta(days=1))
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=timezone.now() - timedelta(days=1))
    Lead.objects.create(
        source_system="salesforce", external_id="00Q1", name="Anna Old", sales_team=org.sales,
        marketing_team=org.marketing,
    )  # fmt: skip
    client.force_login(org.marketer)
    token = preview(client, org).context["upload"]["token"]
    broker, queue = redis_url(), new_queue("web-import-worker")
    try:
        with producer(broker, queue), Worker(broker, queue, tmp_path):
            started = client.post(reverse("import-start"), {"token": token})
            record = Import.objects.get()
            assert started["Location"] == f"/imports/{record.pk}/"
            wait_for(lambda: Import.objects.get(pk=record.pk).status == "done", what="import")
    finally:
        drop_queues(broker)
    bar = client.get(reverse("import-progress", args=[record.pk])).content.decode()
    assert 'max="3" value="3"' in bar
    assert "hx-trigger" not in bar  # done: the page stops polling
    assert 'data-count="updated">1<' in bar and 'data-count="error">2<' in bar
    report = client.get(reverse("import-report", args=[record.pk]))
    anna = Lead.objects.get(external_id="00Q1")
    assert report_rows(report) == [
        ["row", "result", "external id", "lead", "errors"],
        ["2", "updated", "00Q1", str(anna.pk), ""],
        ["3", "error", "00Q2", "", "email: Enter a valid email address."],
        ["4", "error", "00Q3", "", "name: This field cannot be blank."],
    ]
    assert anna.name == "Anna Weber" and anna.stage == "mql"


def test_the_settings_make_the_filesystem_brokers_folders(tmp_path):
    """`runserver` alone (no `make run`) must find them: the first enqueue failed without."""
    env = {**os.environ, "SLAHUB_VAR_DIR": str(tmp_path), "REDIS_URL": "", "DEBUG": "1"}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-c", "import django; import os; "
         "os.environ['DJANGO_SETTINGS_MODULE'] = 'slahub.settings'; django.setup()"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    assert (tmp_path / "broker").is_dir() and (tmp_path / "broker-control").is_dir()
