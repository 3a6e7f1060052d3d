"""The what-if replay in Chromium: a manager opens it from the draft on the agreement page,
replays a chosen window on a real worker, watches the bar fill, reads both sides and
follows a changed lead to its page (the history of tests/test_agreements_replay.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.celery_workers import Worker, drop_queues, new_queue, producer
from tests.conftest import redis_url
from tests.e2e.conftest import assert_accessible, screenshot
from tests.test_agreements_replay import history  # noqa: F401 - the hand-built history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_replays_a_draft_and_follows_a_changed_lead(history, open_page, tmp_path):  # noqa: F811
    org, draft, leads = history
    page = open_page(org.sales_manager)
    base = "/".join(page.url.split("/", 3)[:3])
    page.goto(base + reverse("agreement-detail", args=[org.agreement.pk]))
    page.get_by_role(
        "link", name=f"What if? Replay last quarter under version {draft.number}"
    ).click()
    page.get_by_role(
        "heading", name=f"What if version {draft.number} had been in force?"
    ).wait_for()
    assert page.get_by_role("button", name="Replay last quarter").is_visible()
    broker, queue = redis_url(), new_queue("browser-replay")
    try:
        with producer(broker, queue), Worker(broker, queue, tmp_path):
            page.get_by_text("Choose another window").click()
            page.get_by_label("First day").fill("2026-07-01")
            page.get_by_label("Last day").fill("2026-09-30")
            page.get_by_role("button", name="Replay this window").click()
            page.locator("#replay-run .badge-ok", has_text="Done").wait_for(timeout=60_000)
    finally:
        drop_queues(broker)
    table = page.locator("#replay-compliance")
    row = table.get_by_role("row").filter(has_text="First touch")
    assert "2 of 2 (100.0 %)" in row.inner_text() and "1 of 3 (33.3 %)" in row.inner_text()
    assert page.get_by_role("heading", name="Leads whose outcome would change (2)").is_visible()
    assert_accessible(page)
    screenshot(page, "agreement-replay.png")
    page.locator("#replay-changed").get_by_role("link", name="A").click()
    page.wait_for_url(f"**{reverse('lead-detail', args=[leads['A'].pk])}")
