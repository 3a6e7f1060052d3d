"""The lead list and the imports pages in a real headless Chromium: a sales manager filters
the list and assigns two overdue leads at once; marketing uploads a Salesforce export,
previews it, starts it and watches a real Celery worker import it, then downloads the
per-row report. axe-core on each page; screenshots for docs/dashboard.md."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.utils import timezone

from integrations.models import Import
from leads.models import Lead
from leads.selectors import lead_list
from tests.celery_workers import Worker, drop_queues, new_queue, producer
from tests.conftest import redis_url
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SALESFORCE = (
    "Lead ID,First Name,Last Name,Email,Company,Country,Lead Status\n"
    "00Q1,Hanna,Schmidt,hanna@moor.example,Moorland GmbH,Germany,Open - Not Contacted\n"
    "00Q2,Felix,Wagner,not-an-email,Wagner Bau,DE,Working - Contacted\n"
    "00Q3,Lena,Maier,lena@isar.example,Isar Digital,Austria,Open - Not Contacted\n"
)


@pytest.fixture
def demo():
    return demo_org(timezone.now())


def test_a_sales_manager_filters_the_list_and_assigns_two_overdue_leads(demo, open_page):
    org, _ = demo
    overdue = list(lead_list(org.sales_manager, now=timezone.now(), filters={"state": "overdue"}))
    assert len(overdue) >= 2
    page = open_page(org.sales_manager)
    page.get_by_role("link", name="Leads", exact=True).click()
    page.get_by_role("heading", name="Leads").wait_for()
    assert_accessible(page)

    page.get_by_label("SLA state").select_option("overdue")
    page.get_by_role("button", name="Apply", exact=True).click()
    page.wait_for_url("**/leads/?*state=overdue*")
    rows = page.locator("#leads tbody tr")
    assert rows.count() == len(overdue)
    assert all("Overdue" in text for text in rows.all_inner_texts())
    screenshot(page, "leads-list.png")

    chosen = overdue[:2]
    for lead in chosen:
        page.get_by_label(f"Select {lead.name}", exact=True).check()
    page.get_by_label("Action").select_option("assign")
    page.get_by_label("New owner").select_option(label="Tom Berger")
    page.get_by_role("button", name="Apply to ticked leads").click()
    page.get_by_text("2 of 2 leads assigned to Tom Berger.").wait_for()
    assert "state=overdue" in page.url  # back on the same filter
    assert_accessible(page)
    owners = set(Lead.objects.filter(pk__in=[x.pk for x in chosen]).values_list("owner", flat=True))
    assert owners == {org.rep2.pk}

    page.get_by_role("link", name="New lead").click()
    page.get_by_role("heading", name="New lead").wait_for()
    assert_accessible(page)
    page.get_by_label("Name").fill("Greta Neu")
    page.get_by_label("Sales team").select_option(label=org.sales.name)
    page.get_by_role("button", name="Create lead").click()
    page.get_by_role("heading", name="Greta Neu").wait_for()
    assert_accessible(page)  # the lead page with its hand-off button
    page.get_by_role("button", name="Hand off to sales").click()
    page.get_by_text("Handed off to sales.").wait_for()
    assert Lead.objects.get(name="Greta Neu").handed_off_at is not None


def test_marketing_imports_a_salesforce_export_with_a_live_progress_bar(demo, open_page, tmp_path):
    org, _ = demo
    broker, queue = redis_url(), new_queue("browser-import")
    try:
        with producer(broker, queue), Worker(broker, queue, tmp_path):
            page = open_page(org.marketer)
            page.get_by_role("link", name="Imports").click()
            page.get_by_role("heading", name="Import leads from a CSV").wait_for()
            file = {"name": "salesforce-leads.csv", "mimeType": "text/csv"}
            page.get_by_label("CSV file").set_input_files({**file, "buffer": SALESFORCE.encode()})
            page.get_by_label("Salesforce Lead export").check()
            page.get_by_label("Sales team").select_option(label=org.sales.name)
            assert_accessible(page)
            page.get_by_role("button", name="Preview").click()

            page.get_by_role("heading", name="Preview: salesforce-leads.csv").wait_for()
            bad = page.locator("#preview tr[data-row='3'] td.cell-error")
            assert "Enter a valid email address." in bad.inner_text()
            assert "DE" in page.locator("#preview tr[data-row='2']").inner_text()  # Germany
            assert_accessible(page)
            screenshot(page, "imports-preview.png")
            assert Import.objects.count() == 0  # a preview imports nothing

            page.get_by_role("button", name="Start import of 3 rows").click()
            page.get_by_role("heading", name="Progress").wait_for()
            page.locator("#progress .badge-ok", has_text="Done").wait_for(timeout=60_000)
            assert "3 of 3 rows read" in page.locator("#progress-text").inner_text()
            assert_accessible(page)
            screenshot(page, "imports-progress.png")

            with page.expect_download() as download:
                page.get_by_role("link", name="Download the per-row report (CSV)").click()
            text = Path(download.value.path()).read_text(encoding="utf-8")
    finally:
        drop_queues(broker)
    rows = list(csv.reader(io.StringIO(text)))
    leads = {x.external_id: x.pk for x in Lead.objects.filter(source_system="salesforce")}
    assert rows == [
        ["row", "result", "external id", "lead", "errors"],
        ["2", "created", "00Q1", str(leads["00Q1"]), ""],
        ["3", "error", "00Q2", "", "email: Enter a valid email address."],
        ["4", "created", "00Q3", str(leads["00Q3"]), ""],
    ]
