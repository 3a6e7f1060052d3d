"""Imports of files as CRMs and spreadsheets really write them: RFC 4180 quoting, byte-order
marks, UTF-16 and Windows-1252, country names in any common form, US dates, statuses that
mean "with sales", a bad date and a repeated id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations import csv_mapping
from integrations.tasks import run_import
from leads.models import Lead, Obligation

pytestmark = pytest.mark.services

SALESFORCE_EXPORT = (
    "Lead ID,First Name,Last Name,Company,Email,Country,Lead Status,Created Date,Lead Source\r\n"
    '00Q1,Zoë,Ångström,"Hart ""Big Iron"" Ltd",zoe@hart.example,Norway,'
    "Open - Not Contacted,11/24/2026 9:30 AM,Web\r\n"
    '00Q2,José,Nuñez,"Acme, Inc.",jose@acme.example,Brazil,Open - Not Contacted,'
    '2026-11-24 10:00:00,"=HYPERLINK(""http://evil.example"")"\r\n'
    "00Q3,Bad,Date,Foo,bad@foo.example,Deutschland,Open - Not Contacted,31/31/2026,Web\r\n"
    "00Q4,Nora,Lind,Nordic,nora@nordic.example,Atlantis,Open - Not Contacted,,Web\r\n"
    '00Q1,Zoë,Ångström,"Hart ""Big Iron"" Ltd",zoe@hart.example,Norway,'
    "Open - Not Contacted,11/24/2026 9:30 AM,Web\r\n"
)


def _upload(client, data: bytes, **fields):
    return client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("leads.csv", data, "text/csv"), **fields},
        format="multipart",
    )


def test_a_salesforce_export_with_bom_quotes_and_bad_rows(sla, frozen, as_user):
    client = as_user(sla.marketer)
    data = b"\xef\xbb\xbf" + SALESFORCE_EXPORT.encode("utf-8")  # Excel's "CSV UTF-8"
    answer = _upload(client, data, preset="salesforce", sales_team=sla.sales.pk)
    assert answer.status_code == 202, answer.json()
    run_import.apply(args=[answer.json()["id"]])
    rows = client.get(f"/api/v1/imports/{answer.json()['id']}/rows/").json()["results"]
    assert [(r["number"], r["result"]) for r in rows] == [
        (2, "created"),
        (3, "created"),
        (4, "error"),  # 31/31/2026 is no date
        (5, "error"),  # Atlantis is no country
        (6, "unchanged"),  # the same record again
    ]
    assert list(rows[2]["errors"]) == ["handed_off_at"]
    assert rows[2]["columns"] == {"handed_off_at": "Created Date"}  # the cell to fix: line 4
    assert rows[3]["columns"] == {"country": "Country"}

    zoe = Lead.objects.get(source_system="salesforce", external_id="00Q1")
    assert (zoe.name, zoe.company, zoe.country) == ("Zoë Ångström", 'Hart "Big Iron" Ltd', "NO")
    # "Open - Not Contacted" means the lead is with sales: handed off at its created date
    # (a US date, read in UTC), so its clocks run.
    assert zoe.handed_off_at == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert set(Obligation.objects.filter(lead=zoe).values_list("kind", flat=True)) == {
        "first_touch",
        "disposition",
    }  # the follow-up cadence starts with the first touch
    jose = Lead.objects.get(external_id="00Q2")
    assert (jose.company, jose.country, jose.stage) == ("Acme, Inc.", "BR", "mql")
    assert jose.handed_off_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    # A formula is data here; the exports neutralise it (see the CSV export tests).
    assert jose.lead_source == '=HYPERLINK("http://evil.example")'


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "cp1252"])
def test_spreadsheet_encodings_are_read(encoding):
    text = "Lead ID;Last Name;Country\r\n7;Müller;Österreich\r\n"
    content = csv_mapping.decode(text.encode(encoding))
    assert list(csv_mapping.rows(content)) == [
        (2, {"Lead ID": "7", "Last Name": "Müller", "Country": "Österreich"})
    ]
    assert csv_mapping.country_code("Österreich") == "AT"


@pytest.mark.parametrize(
    "given, code",
    [
        ("Norway", "NO"),
        ("NOR", "NO"),
        ("no", "NO"),
        ("Brazil", "BR"),
        ("Korea, Republic of", "KR"),
        ("South Korea", "KR"),
        ("U.K.", "GB"),
        ("United Kingdom", "GB"),
        ("the Netherlands", "NL"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Czechia", "CZ"),
        ("Côte d'Ivoire", "CI"),
        ("Atlantis", None),
        ("", None),
    ],
)
def test_countries_are_read_in_any_common_form(given, code):
    assert csv_mapping.country_code(given) == code


@pytest.mark.parametrize(
    "cell, iso",
    [
        ("11/24/2026 9:30 AM", "2026-11-24T09:30:00"),
        ("11/24/2026", "2026-11-24T00:00:00"),
        ("24.11.2026 14:05", "2026-11-24T14:05:00"),
        ("2026-11-24T10:00:00+01:00", "2026-11-24T10:00:00+01:00"),
        ("31/31/2026", "31/31/2026"),  # left as it is: the lead refuses it
    ],
)
def test_crm_dates_are_read(cell, iso):
    assert csv_mapping.when(cell) == iso
