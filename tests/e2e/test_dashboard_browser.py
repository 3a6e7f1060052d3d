"""The dashboard in a real headless Chromium: each role's main job, end to end, with an
accessibility check (axe-core) and the screenshots of docs/screenshots/."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from agreements.models import AgreementVersion
from leads.models import Breach, Obligation
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    return demo_org(timezone.now())


def test_a_rep_logs_a_call_and_sees_the_clock_turn_met(demo, open_page):
    org, made = demo
    lead = made["fresh"][1]  # Tier A, handed off 90 minutes ago: 2½ hours left
    clock = lead.obligations.get(kind="first_touch")
    page = open_page(org.rep)
    assert page.url.endswith(reverse("queue"))
    page.get_by_role("heading", name="My queue").wait_for()

    row = page.locator(f"#lead-row-{lead.pk}")
    countdown = row.locator(f"[data-obligation='{clock.pk}'] .countdown")
    first = countdown.inner_text()
    assert re.fullmatch(r"2h \d+m left", first), first
    # The countdown is live: it follows its due time in the browser, without a reload.
    countdown.evaluate("el => { el.dataset.due = new Date(Date.now() + 95000).toISOString(); }")
    page.wait_for_function(
        "el => /^1m \\d+s left$/.test(el.textContent)", arg=countdown.element_handle()
    )
    overdue = page.locator(f"#lead-row-{made['fresh'][0].pk}")
    assert "row-overdue" in overdue.get_attribute("class")
    assert "Overdue" in overdue.inner_text()
    # Overdue first, then by time left.
    order = page.locator("#queue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.lead)")
    assert order.index(str(made["fresh"][0].pk)) < order.index(str(lead.pk))

    assert_accessible(page)
    screenshot(page, "home-sales-rep-queue.png")

    row.get_by_role("button", name=f"Log a call to {lead.name}").click()
    met = page.locator(f"#lead-row-{lead.pk} .clock-closed[data-obligation='{clock.pk}']")
    met.wait_for()
    assert "Met" in met.inner_text()
    assert "Call logged. First touch: met." in page.locator(f"#lead-row-{lead.pk}").inner_text()
    clock.refresh_from_db()
    assert clock.status == Obligation.Status.MET
    # The next attempt of the cadence now runs, one day after the call.
    follow_up = lead.obligations.get(kind="follow_up", status="open")
    assert follow_up.attempt == 2

    page.goto(page.url.split("/queue/")[0] + reverse("lead-detail", args=[lead.pk]))
    page.get_by_role("heading", name="Clocks").wait_for()
    assert "Met" in page.locator(f"#clocks tr[data-obligation='{clock.pk}']").inner_text()
    assert_accessible(page)


def test_a_sales_manager_acknowledges_a_breach(demo, open_page):
    org, made = demo
    breach = Breach.objects.get(lead=made["breached"])
    page = open_page(org.sales_manager)
    assert page.url.endswith(reverse("team-home"))
    page.get_by_role("heading", name="Team compliance").wait_for()
    assert_accessible(page)
    screenshot(page, "home-sales-manager.png")

    page.locator(f"a[href='{reverse('breach-detail', args=[breach.pk])}']").click()
    page.get_by_role("heading", name="What was promised").wait_for()
    assert "Sales will make a first touch on every Tier A lead within 4 hours" in (page.content())
    page.locator("#acknowledge-form textarea").fill("Tom was off sick; Riya covers from now.")
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("Breach acknowledged.").wait_for()
    assert page.locator("#breach-status").inner_text() == "Acknowledged"
    breach.refresh_from_db()
    assert (breach.status, breach.acknowledged_by) == ("acknowledged", org.sales_manager)
    assert breach.acknowledge_note == "Tom was off sick; Riya covers from now."
    assert_accessible(page)


def test_a_marketing_manager_sees_the_quota_chart(demo, open_page):
    org, made = demo
    page = open_page(org.marketing_manager)
    assert page.url.endswith(reverse("marketing-home"))
    page.get_by_role("heading", name="Quota pace").wait_for()
    # 5 of the 9 earlier leads were accepted (SAL) and 4 rejected, all this month unless the
    # month has only just begun.
    assert page.locator("[data-actual]").inner_text() == str(made["sal_this_month"])
    page.wait_for_function("() => document.querySelector('#quota-chart-0').dataset.drawn")
    drawn = page.evaluate(
        """() => {
        const canvas = document.querySelector('#quota-chart-0');
        const chart = Chart.getChart(canvas);
        const pixels = canvas.getContext('2d')
            .getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
        return {type: chart.config.type, sets: chart.data.datasets.length, painted};
    }"""
    )
    assert drawn["type"] == "line" and drawn["sets"] == 4
    assert drawn["painted"] > 1000
    has_reasons_chart = "() => !!Chart.getChart(document.querySelector('#reasons-chart'))"
    assert page.evaluate(has_reasons_chart) == bool(made["rejected_this_month"])
    assert_accessible(page)
    screenshot(page, "home-marketing.png")


def test_both_managers_sign_a_new_agreement_version(demo, open_page):
    org, _ = demo
    detail = reverse("agreement-detail", args=[org.agreement.pk])

    marketing = open_page(org.marketing_manager)
    marketing.goto(marketing.url.split("/marketing/")[0] + detail)
    marketing.get_by_label("What changes, and why").fill("Tier A first touch within 2 hours.")
    marketing.get_by_role("button", name="Draft a new version").click()
    marketing.get_by_text("Version 2 drafted from the current terms.").wait_for()
    marketing.get_by_role("button", name="Propose version 2 for signature").click()
    marketing.get_by_role("button", name="Sign version 2").click()
    marketing.get_by_text("Signed for Marketing. Waiting for the other side's manager.").wait_for()

    sales = open_page(org.sales_manager)
    sales.goto(sales.url.split("/team/")[0] + detail)
    sales.get_by_role("button", name="Sign version 2").click()
    sales.get_by_text("Signed for Sales. Version 2 is now in force.").wait_for()
    assert "Version 2, in force since" in sales.content()

    versions = {
        v.number: v.status for v in AgreementVersion.objects.filter(agreement=org.agreement)
    }
    assert versions == {1: "superseded", 2: "active"}
    signers = set(
        AgreementVersion.objects.get(agreement=org.agreement, number=2).signatures.values_list(
            "side", "user__username"
        )
    )
    assert signers == {("marketing", "marketing_manager"), ("sales", "sales_manager")}
    assert_accessible(sales)


def test_the_scorecard_is_accessible(demo, open_page):
    org, _ = demo
    try:
        url = reverse("reports:scorecard")
    except NoReverseMatch:
        pytest.skip("the reports app has no scorecard page yet")
    page = open_page(org.sales_manager)
    page.goto(page.url.split("/team/")[0] + url)
    assert page.title() and "Not found" not in page.title()
    assert_accessible(page)
    screenshot(page, "scorecard.png")


def test_the_queue_fits_a_phone_screen(demo, open_page):
    org, _ = demo
    page = open_page(org.rep, width=390, height=844)
    page.get_by_role("heading", name="My queue").wait_for()
    # Wide tables scroll inside their box; the page itself never scrolls sideways.
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    button = page.locator("#queue tbody tr").first.get_by_role("button", name="Log a call")
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(page, "home-sales-rep-queue-phone.png")


@pytest.mark.parametrize(
    "name",
    [
        "breach-list",
        "settings",
        "settings-calendars",
        "settings-teams",
        "settings-reasons",
        "settings-notifications",
        "settings-tokens",
        "settings-audit",
    ],
)
def test_the_other_pages_are_accessible(demo, open_page, name):
    org, _ = demo
    page = open_page(org.sales_manager)
    page.goto(page.url.split("/team/")[0] + reverse(name))
    page.locator("h1").wait_for()
    assert_accessible(page)


def _charts_drawn(page) -> dict[str, int]:
    """Painted pixels per report chart (a chart that is not drawn has none)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map(c => {
            if (!Chart.getChart(c)) return [c.dataset.chart, 0];
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let painted = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
            return [c.dataset.chart, painted];
        }))"""
    )


def test_the_report_pages_draw_their_charts_from_the_rollups(demo, open_page):
    from django.db import connection

    from reports import refresh

    org, _ = demo
    if connection.vendor == "postgresql":  # the rollups are kept on PostgreSQL only
        refresh.refresh(now=timezone.now())
    page = open_page(org.sales_manager)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = page.url.split("/team/")[0]
    page.goto(base + reverse("reports:compliance"))
    page.get_by_role("heading", name="Compliance report", exact=True).wait_for()
    drawn = _charts_drawn(page)
    assert set(drawn) == {"chart-week", "chart-month", "chart-histogram", "chart-ttft"}
    assert all(pixels > 500 for pixels in drawn.values()), drawn
    assert page.locator("#table-sales").is_visible()
    if connection.vendor == "postgresql":
        assert "are read from the daily rollup" in page.locator("#freshness").inner_text()
    assert_accessible(page)
    screenshot(page, "reports-compliance.png")

    page.goto(base + reverse("reports:funnel"))
    page.get_by_role("heading", name="Closed-loop funnel", exact=True).wait_for()
    drawn = _charts_drawn(page)
    assert len(drawn) == 4 and all(pixels > 500 for pixels in drawn.values()), drawn
    assert_accessible(page)
    screenshot(page, "reports-funnel.png")
    assert errors == []
