"""A running volume quota counted from the rollups (its closed days from `ReachDay`, today
live) equals the live count, on the hand-built November of tests/test_reports_data.py with
a few more stage events worked out by hand below; so does the marketing home's pace chart.

November's SAL quota (5 a month) by the story: L1 accepted 2 Nov, L4 straight to SQL 19 Nov
(a skipped stage counts as passed), L3 accepted 16 Nov (its rejection on 9 Nov is not a
SAL); L0 first reached SAL on 29 Oct, so not in November. Added here:
- L5 accepted 24 Nov (a closed day at NOW), then moved to SQL today: counted once, on 24 Nov.
- L0 moved to SQL on 24 Nov: still not counted (it first got there in October).
- L6 accepted today at 08:45: counted live.
So at NOW (25 Nov 09:00): 2 Nov 1, 16 Nov 1, 19 Nov 1, 24 Nov 1, 25 Nov 1 — 5 in all.
"""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import Commitment
from leads import services
from reports import homes, metrics, refresh
from reports.selectors import report_filter
from tests.test_reports_data import NOW, b, build_november, roll_up

NOV = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
BY_DAY = {
    date(2026, 11, 2): 1,
    date(2026, 11, 16): 1,
    date(2026, 11, 19): 1,
    date(2026, 11, 24): 1,
    date(2026, 11, 25): 1,
}


@pytest.fixture
def quota(org, require_postgres):
    data = build_november(org)
    leads = data.leads
    services.lead_accept(lead=leads["L5"], now=b(2026, 11, 24, 10, 0))
    services.lead_set_stage(lead=leads["L0"], stage="sql", now=b(2026, 11, 24, 11, 0))
    leads["L5"].refresh_from_db()
    services.lead_set_stage(lead=leads["L5"], stage="sql", now=b(2026, 11, 25, 8, 40))
    services.lead_accept(lead=leads["L6"], now=b(2026, 11, 25, 8, 45))
    roll_up(NOW)
    return data


def _live(f):
    return replace(f, rolled_until=None, funnel_rolled=False)


def test_the_running_count_from_the_rollup_equals_the_live_one(quota):
    f = report_filter(quota.org.sales_manager, now=NOW, **NOV)
    assert f.rolled_until == date(2026, 11, 24)
    with CaptureQueriesContext(connection) as queries:
        rolled = metrics.period_results(f, per_day=True)
    assert any("reports_reachday" in q["sql"] for q in queries.captured_queries)
    live = metrics.period_results(_live(f), per_day=True)
    assert [r.actual for r in rolled] == [r.actual for r in live] == [5]
    assert rolled[0].reached_per_day == live[0].reached_per_day == BY_DAY
    assert rolled[0].status == "running"


def test_a_day_closing_moves_its_count_into_the_rollup_unchanged(quota):
    # The next morning: 25 Nov is closed and rolled up; nothing else happened.
    later = NOW + timedelta(days=1)
    refresh.refresh(now=later)
    f = report_filter(quota.org.sales_manager, now=later, **NOV)
    assert f.rolled_until == date(2026, 11, 25)
    rolled, live = (
        metrics.period_results(f, per_day=True),
        metrics.period_results(_live(f), per_day=True),
    )
    assert [r.actual for r in rolled] == [r.actual for r in live] == [5]
    assert rolled[0].reached_per_day == BY_DAY


def test_an_ended_period_not_yet_judged_counts_none_of_the_days_after_it(quota):
    # 2 December, before the quota evaluation has judged November: L2 accepted on 1 December
    # belongs to December, even though 1 December is rolled up.
    services.lead_accept(lead=quota.leads["L2"], now=b(2026, 12, 1, 10, 0))
    later = b(2026, 12, 2, 10, 0)
    refresh.refresh(now=later)
    f = report_filter(quota.org.sales_manager, now=later, **NOV)
    assert f.rolled_until == date(2026, 12, 1)
    (rolled,), (live,) = metrics.period_results(f), metrics.period_results(_live(f))
    assert rolled.actual == live.actual == 5


def test_the_marketing_home_paces_the_quota_by_the_same_days(quota):
    volume = list(quota.org.version.commitments.filter(kind=Commitment.Kind.LEAD_VOLUME))
    home = homes.marketing_home(quota.org.agreement, volume=volume, quality=None, now=NOW)
    (pace,) = home.paces
    assert (pace.actual, pace.target) == (5, 5)
    actual = pace.chart["actual"]
    # Cumulative by local day: 1 from 2 Nov, 2 from 16 Nov, 3 from 19 Nov, 4 on 24 Nov,
    # 5 today (25 Nov); no point after today.
    assert actual[0] == 0 and actual[1] == 1 and actual[14] == 1 and actual[15] == 2
    assert actual[17] == 2 and actual[18] == 3 and actual[22] == 3
    assert actual[23:25] == [4, 5] and actual[25:] == [None] * 5
