"""Shared goals and the monthly review in a real headless Chromium: a manager sets a goal and
holds a review whose action item lands on the rep's home page; axe-core on each new page,
and the screenshots of docs/agreements.md."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.models import ActionItem, Goal, Review
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    return demo_org(timezone.now())


def _origin(page) -> str:
    return "/".join(page.url.split("/", 3)[:3])


def test_a_review_gives_the_rep_an_action_item_on_his_home(demo, open_page):
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

    # The review: scheduled, then an action item for the rep.
    manager.goto(origin + reverse("review-list", args=[org.agreement.pk]))
    assert_accessible(manager)
    manager.get_by_label("Meeting date").fill(today.isoformat())
    manager.get_by_role("button", name="Schedule the review").click()
    manager.get_by_text("Review scheduled.").wait_for()
    assert_accessible(manager)
    manager.get_by_label("Notes:", exact=True).fill("First touch on Tier A is slipping on Mondays.")
    manager.get_by_role("button", name="Save the notes").click()
    manager.get_by_text("Notes saved.").wait_for()
    manager.get_by_label("Action:", exact=True).fill("Clear Monday's Tier A leads by noon")
    manager.get_by_label("Owner:", exact=True).select_option(label=org.rep.username)
    manager.get_by_label("Due:", exact=True).fill(today.isoformat())
    manager.get_by_role("button", name="Add the action item").click()
    manager.get_by_text("Action item added.").wait_for()
    screenshot(manager, "review.png")
    review = Review.objects.get(agreement=org.agreement)
    assert review.action_items.get().owner == org.rep

    manager.goto(origin + reverse("review-print", args=[review.pk]))
    assert "Clear Monday's Tier A leads by noon" in manager.content()
    assert_accessible(manager)

    # The rep's home shows it until he marks it done.
    rep = open_page(org.rep)
    items = rep.get_by_role("region", name="Your action items from reviews")
    items.get_by_text("Clear Monday's Tier A leads by noon").wait_for()
    assert_accessible(rep)
    items.get_by_role("button", name="Mark done").click()
    rep.get_by_text("Done: Clear Monday's Tier A leads by noon").wait_for()
    assert rep.get_by_role("region", name="Your action items from reviews").count() == 0
    assert ActionItem.objects.get().done_by == org.rep
