"""Reading the report charts in Chromium: the dashed target lines, dates in words and
durations in hours and minutes, as drawn by static/reports/reports.js (vendored Chart.js)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.e2e.conftest import assert_accessible
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _chart(page, chart_id: str) -> dict:
    """What a drawn chart shows: its x labels, its datasets and its y tick labels."""
    return page.evaluate(
        """id => {
            const chart = Chart.getChart(document.querySelector(`canvas[data-chart="${id}"]`));
            return {
                labels: chart.data.labels,
                datasets: chart.data.datasets.map(
                    d => ({label: d.label, dash: d.borderDash || []})
                ),
                ticks: chart.scales.y.ticks.map(t => t.label),
            };
        }""",
        chart_id,
    )


def test_the_compliance_charts_read_in_words(open_page):
    org, _ = demo_org(timezone.now())
    page = open_page(org.sales_manager)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(page.url.split("/team/")[0] + reverse("reports:compliance"))
    page.get_by_role("heading", name="Compliance report", exact=True).wait_for()

    week = _chart(page, "chart-week")
    assert all(re.fullmatch(r"\d+ ?(\w{3})?–\d+ \w{3}", label) for label in week["labels"]), week
    targets = [d for d in week["datasets"] if d["dash"]]
    # The demo agreement's acceptance floor is 60%; the sales clocks' target is 80%.
    assert [d["label"] for d in targets] == ["Sales target 80%", "Acceptance floor 60%"]
    month = _chart(page, "chart-month")
    assert all(re.fullmatch(r"\w{3} \d{4}", label) for label in month["labels"]), month

    ttft = _chart(page, "chart-ttft")
    assert ttft["ticks"] and all(
        re.fullmatch(r"\d+ (s|min|h)( \d+ (s|min))?|0 s", tick) for tick in ttft["ticks"]
    ), ttft["ticks"]
    # The same words as reports.tables.Minutes.
    words = page.evaluate("[954.3, 2.5, 90, 1440].map(window.slahubMinutesText)")
    assert words == ["15 h 54 min", "2 min 30 s", "1 h 30 min", "1 d"]
    assert_accessible(page)
    assert errors == []
