"""The commitment editor in Chromium: only the chosen kind's fields show, the sentence is
previewed as it is typed, and the commitment is added with a number and a unit."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.services import agreement_version_draft
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_writes_a_commitment_in_the_editor(open_page):
    org, _ = demo_org(timezone.now())
    version = agreement_version_draft(agreement=org.agreement, summary="Tier B faster")
    page = open_page(org.sales_manager)
    base = page.url.split("/team/")[0]
    page.goto(base + reverse("agreement-detail", args=[org.agreement.pk]))
    page.get_by_text(f"Add a commitment to version {version.number}").click()
    form = page.locator("form[action$='/commitments/']")
    form.get_by_label("Kind:", exact=True).select_option("first_touch")
    assert form.get_by_label("Within: number", exact=True).is_visible()
    assert not form.get_by_label("Attempts:", exact=True).is_visible()  # a follow-up's field
    assert not form.get_by_label("Target:", exact=True).is_visible()  # a quota's field
    form.get_by_label("Within: number", exact=True).fill("4")
    form.get_by_label("Within: unit", exact=True).select_option("hours")
    form.get_by_label("Tiers:", exact=True).fill("B")
    preview = form.locator(".preview-text")
    preview.get_by_text(
        "Sales will make a first touch on every Tier B lead within 4 business hours of hand-off."
    ).wait_for()
    assert_accessible(page)
    screenshot(page, "agreement-commitment-editor.png")
    form.get_by_role("button", name="Add commitment").click()
    page.get_by_role("status").get_by_text(
        "Added: Sales will make a first touch on every Tier B lead within 4 business hours"
    ).wait_for()
    assert version.commitments.filter(within="PT4H", applies_to={"tier": ["B"]}).exists()
