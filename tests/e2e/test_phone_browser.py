"""At 390 px (a phone) the rep's and the manager's daily pages read without sideways
scrolling, every button is on screen, and phone numbers are tap-to-call links."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Breach, Lead
from tests.e2e.conftest import screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390

OFF_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('button, a.btn, input[type=submit]')]
    .filter(el => el.offsetParent !== null)
    .map(el => [el.textContent.trim(), el.getBoundingClientRect()])
    .filter(([, box]) => box.width > 0 && (box.left < 0 || box.right > width + 0.5))
    .map(([text, box]) => `${text} ${Math.round(box.left)}–${Math.round(box.right)}`);
}"""


def _fits(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    assert page.evaluate(OFF_SCREEN) == []


@pytest.fixture
def demo():
    return demo_org(timezone.now())


def test_the_team_page_fits_a_phone(demo, open_page):
    org, _ = demo
    page = open_page(org.sales_manager, width=WIDTH, height=844)
    page.locator("h1").wait_for()
    _fits(page)
    screenshot(page, "home-sales-manager-phone.png")


def test_a_lead_page_fits_a_phone_and_calls_on_tap(demo, open_page):
    org, _ = demo
    lead = Lead.objects.filter(owner=org.rep).first()
    lead.phone = "+49 30 1234567"
    lead.save(update_fields=["phone"])
    page = open_page(org.rep, width=WIDTH, height=844)
    page.goto(page.url.split("/queue/")[0] + reverse("lead-detail", args=[lead.pk]))
    page.locator("h1").wait_for()
    _fits(page)
    assert page.locator('a[href="tel:+49301234567"]').count() >= 1
    screenshot(page, "lead-phone.png")


def test_the_breach_pages_fit_a_phone(demo, open_page):
    org, _ = demo
    page = open_page(org.sales_manager, width=WIDTH, height=844)
    base = page.url.split("/team/")[0]
    page.goto(base + reverse("breach-list"))
    page.locator("h1").wait_for()
    _fits(page)
    breach = Breach.objects.first()
    page.goto(base + reverse("breach-detail", args=[breach.pk]))
    page.locator("h1").wait_for()
    _fits(page)
