"""What issue 13's pages cost in queries (the ones not bounded beside their own behaviour:
setup, teams, hours, calendars and inbound sources are bounded in test_web_setup.py and
test_web_settings.py, the lead list and breach triage in test_web_lead_list.py and
test_breach_triage.py). Each page is read with a little data and with more, and costs the
same fixed number of queries both times, within its limit: no query per row.

The story: Wed 25 Nov 2026 10:00 in Berlin; the agreement (a first touch within 4 business
hours) has been in force since 1 Nov."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.invitations import invitation_create
from agreements.models import Membership
from agreements.services import agreement_version_draft
from integrations.models import Import
from leads import services
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def terms(org):
    with time_machine.travel(NOW, tick=False):
        add_commitment(org.version, "first_touch", within="PT4H")
        activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
        yield org


def read(client, method: str, url: str, data=None, *, status: int = 200):
    """One request: (its queries, its response)."""
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == status, response.content[:500]
    return len(ctx.captured_queries), response


def test_the_invitation_page(client, terms, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        _, token = invitation_create(
            user=terms.sales_manager, team=terms.sales, email="ola@example.com",
            role=Membership.Role.MEMBER, now=NOW,
        )  # fmt: skip
        # No session yet: the invitation (with its team) is the one query.
        with django_assert_max_num_queries(1):
            page = client.get(reverse("invitation-accept", args=[token]))
    assert "Join Sales" in page.content.decode()


def test_the_lead_form_the_lead_page_and_the_hand_off(client, terms, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        client.force_login(terms.marketer)
        client.get(reverse("lead-new"))  # the first page of a session stores its time zone
        with django_assert_max_num_queries(5):
            form = client.get(reverse("lead-new"))
        assert "Create lead" in form.content.decode()
        lead = make_lead(terms, now=NOW, name="Not yet")
        with django_assert_max_num_queries(11):
            page = client.get(reverse("lead-detail", args=[lead.pk]))
        assert "Hand off to sales" in page.content.decode()
        # The hand-off writes: the lead, its stage event, its clock, the audit log.
        with django_assert_max_num_queries(20):
            client.post(reverse("lead-hand-off", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.handed_off_at == NOW and lead.obligations.get().kind == "first_touch"


def _import(org, n: int) -> Import:
    return Import.objects.create(
        user=org.marketer, content="Id\n1\n", filename=f"file-{n}.csv", preset="custom",
        mapping={"external_id": "Id"}, source_system="csv", total_rows=1, created_at=NOW,
    )  # fmt: skip


def _salesforce(rows: int) -> dict:
    content = "Lead ID,First Name,Last Name,Email\n" + "".join(
        f"00Q{i},Ann{i},Berg,ann{i}@example.com\n" for i in range(rows)
    )
    return {"file": SimpleUploadedFile("l.csv", content.encode(), "text/csv")}


def test_the_imports_pages(client, terms):
    with time_machine.travel(NOW, tick=False):
        client.force_login(terms.marketer)
        record = _import(terms, 0)
        client.get(reverse("import-list"))
        few, _ = read(client, "get", reverse("import-list"))
        for n in range(1, 15):
            _import(terms, n)
        many, listing = read(client, "get", reverse("import-list"))
        assert few == many <= 5
        assert listing.content.decode().count("file-") == 15
        for name in ("import-detail", "import-progress"):
            count, _ = read(client, "get", reverse(name, args=[record.pk]))
            assert count <= 3, name
        form = {"preset": "salesforce", "sales_team": terms.sales.pk}
        few, _ = read(client, "post", reverse("import-preview"), form | _salesforce(2))
        many, preview = read(client, "post", reverse("import-preview"), form | _salesforce(30))
    # The preview's dry run upserts each row it shows (rolled back), about a query a row, and
    # it shows the first ten rows only: at most 28 queries for 10 rows or 30 000 (one reads
    # the uploader's marketing team, the rows' default team; one reserves the new leads' ids
    # for COPY).
    assert few <= many <= 28
    assert len(preview.context["preview"].rows) == 10  # the first ten of 30


def test_the_contested_rejections_tab(client, terms):
    with time_machine.travel(NOW, tick=False):
        client.force_login(terms.sales_manager)
        counts = []
        for n in range(12):
            lead = make_lead(terms, now=MONDAY, handed_off_at=MONDAY, name=f"L{n}")
            services.lead_reject(lead=lead, reason="Bad fit", now=MONDAY)
            services.rejection_contest_open(
                lead=lead, user=terms.marketing_manager, reason="They asked", now=NOW
            )
            if n in (1, 11):
                client.get(reverse("breach-contests"))
                count, page = read(client, "get", reverse("breach-contests"))
                counts.append(count)
    assert counts[0] == counts[1] <= 6
    assert "12 to decide" in page.content.decode()


def test_the_commitment_editor(client, terms):
    with time_machine.travel(NOW, tick=False):
        version = agreement_version_draft(agreement=terms.agreement, summary="Faster")
        client.force_login(terms.sales_manager)
        url = reverse("agreement-detail", args=[terms.agreement.pk])
        client.get(url)
        few, _ = read(client, "get", url)
        for n in range(10):
            add_commitment(
                version, "first_touch", within="PT1H", applies_to={"tier": [f"T{n}"]}, order=n + 2
            )
        many, page = read(client, "get", url)
        assert few == many <= 10
        assert page.content.decode().count("Save changes") == 11  # each clause edits in place
        preview = reverse("commitment-preview", args=[terms.agreement.pk, version.number])
        fields = {"new-kind": "first_touch", "new-within_0": "4", "new-within_1": "hours"}
        count, sentence = read(client, "post", preview, fields)
    assert count <= 5
    assert "within 4 business hours" in sentence.content.decode()
