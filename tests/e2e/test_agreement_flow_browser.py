"""An amendment in Chromium, as docs/agreements.md tells it (and the screenshots it shows):
sales' manager drafts version 2 and works out marketing's quota with the calculator;
proposed with a date, marketing's manager is prompted on her home page, comments on the
term and signs; sales signs; version 2 comes into force on its date. Every page axe-clean."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements import services
from agreements.models import AgreementVersion, TermComment
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")


def test_an_amendment_from_draft_to_in_force(open_page):
    now = timezone.now()
    org, _ = demo_org(now)
    detail = reverse("agreement-detail", args=[org.agreement.pk])

    # Sales' manager drafts version 2 and tightens the Tier A first touch.
    sales = open_page(org.sales_manager)
    base = sales.url.split("/team/")[0]
    sales.goto(base + detail)
    sales.get_by_label("What changes, and why").fill("A quota from the revenue goal")
    sales.get_by_role("button", name="Draft a new version").click()
    sales.get_by_role("status").get_by_text("Version 2 drafted").wait_for()
    draft = org.agreement.versions.get(number=2)
    services.commitment_update(
        commitment=draft.commitments.get(kind="first_touch", order=0), within="PT2H"
    )

    # The quota calculator: 600,000 a month, half from marketing's deals of 10,000 → 30 won;
    # ÷ 25% → 120 SQLs; ÷ 40% → 300 SALs (the demo's quota counts SALs); ÷ 60% → 500 MQLs.
    sales.goto(base + detail)
    sales.get_by_role("link", name="Work out marketing's lead-volume target").click()
    sales.get_by_role("heading", name="Quota calculator").wait_for()
    assert "Rates prefilled from the closed-loop funnel" in sales.content()
    for label, value in [
        ("Revenue goal:", "600000"),
        ("Share from marketing-sourced deals (%):", "50"),
        ("Average won deal:", "10000"),
        ("SQL → won (%):", "25"),
        ("SAL → SQL (%):", "40"),
        ("MQL → SAL (%):", "60"),
    ]:
        sales.get_by_label(label, exact=True).fill(value)
    sales.get_by_label("For:", exact=True).select_option("month")
    sales.get_by_role("button", name="Work it out").click()
    sales.get_by_role("button", name="Put 300 SALs a month into version 2").wait_for()
    assert_accessible(sales)
    screenshot(sales, "agreement-quota-calculator.png")
    sales.get_by_role("button", name="Put 300 SALs a month into version 2").click()
    sales.get_by_role("status").get_by_text("Version 2 now asks marketing for 300 SALs").wait_for()
    assert draft.commitments.get(kind="lead_volume").target == 300

    # Proposed to come into force tomorrow (00:00 in the agreement's time zone).
    tomorrow = now.astimezone(BERLIN).date() + timedelta(days=1)
    sales.get_by_label("In force from").fill(tomorrow.isoformat())
    sales.get_by_role("button", name="Propose version 2 for signature").click()
    sales.get_by_role("status").get_by_text("Version 2 proposed").wait_for()
    assert_accessible(sales)
    screenshot(sales, "agreement-draft-diff.png")

    # Marketing's manager is told, reads the diff and the calculator's comment, answers, signs.
    marketing = open_page(org.marketing_manager)
    marketing.get_by_text("was proposed and waits for your side").wait_for()
    assert_accessible(marketing)
    screenshot(marketing, "agreement-proposal-notice.png")
    marketing.get_by_role("link", name=f"version 2 of {org.agreement.name}").click()
    change = marketing.locator("li.change", has_text="Quota calculator: 300 SALs a month.")
    change.get_by_text("Comment on this term").click()
    change.get_by_label("Your comment").fill("300 SALs is within reach if the webinar runs.")
    change.get_by_role("button", name="Add comment").click()
    marketing.get_by_role("status").get_by_text("Comment added.").wait_for()
    assert TermComment.objects.filter(version=draft).count() == 2
    assert_accessible(marketing)
    screenshot(marketing, "agreement-term-comments.png")
    marketing.get_by_role("button", name="Sign version 2").click()
    marketing.get_by_role("status").get_by_text("Waiting for the other side's manager").wait_for()

    # Sales signs: scheduled for tomorrow; on that date the check puts it in force.
    sales.goto(base + detail)
    sales.get_by_role("button", name="Sign version 2").click()
    sales.get_by_role("status").get_by_text("Version 2 comes into force on").wait_for()
    assert AgreementVersion.objects.get(pk=draft.pk).status == "scheduled"
    midnight = datetime.combine(tomorrow, time(0, 1), tzinfo=BERLIN)
    assert services.agreement_versions_activate_due(now=midnight) == 1
    sales.goto(base + detail)
    sales.get_by_text("Version 2, in force since").wait_for()
    assert "Marketing will deliver at least 300 SALs each month." in sales.content()
    assert_accessible(sales)
    screenshot(sales, "agreement-in-force.png")
