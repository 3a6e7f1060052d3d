"""Shared goals in a real headless Chromium: a manager sets a goal, drawn against its target;
axe-core on the goal pages, and the goal screenshot of docs/agreements.md. The monthly
review (its action item on the rep's home page) is the end of the walk in
tests/e2e/test_agreement_flow_browser.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.models import Goal
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    return demo_org(timezone.now())


def _origin(page) -> str:
    return "/".join(page.url.split("/", 3)[:3])


def test_a_manager_sets_a_shared_goal_drawn_against_its_target(demo, open_page):
    org, _ = demo
    manager = open_page(org.sales_manager)
    origin = _origin(manager)
    today = timezone.localdate()

    # A shared goal, drawn against its target.
    manager.goto(origin + reverse("goal-list", args=[org.agreement.pk]))
    manager.get_by_label("Goal:", exact=True).fill("Forty SALs a month")
    manager.get_by_label("Measured by").select_option("sal_count")
    manager.get_by_label("Target").fill("40")
    first = today.replace(day=1)
    for _ in range(3):  # four months drawn: this one and the three before
        first = (first - timedelta(days=1)).replace(day=1)
    manager.get_by_label("From:", exact=True).fill(first.isoformat())
    manager.get_by_label("Named owner").select_option(label=org.marketing_manager.username)
    manager.get_by_role("button", name="Set the goal").click()
    manager.get_by_text("Goal “Forty SALs a month” set.").wait_for()
    manager.wait_for_function("document.querySelector('canvas[data-chart]').chart !== undefined")
    assert Goal.objects.filter(agreement=org.agreement, metric="sal_count").exists()
    assert_accessible(manager)
    screenshot(manager, "goal.png")

    manager.goto(origin + reverse("goal-list", args=[org.agreement.pk]))
    manager.get_by_role("link", name="Forty SALs a month").wait_for()
    assert_accessible(manager)
