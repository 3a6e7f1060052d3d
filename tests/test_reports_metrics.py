"""Each report metric pinned on a hand-built November (tests/test_reports_data.py).

Expected values are worked out by hand from the story in test_reports_data.py. Every test
runs twice: on the live tables, and with the rollups built at NOW (closed days up to
24 November and the funnel facts read from them), which must give the same answers."""

from datetime import date

import pytest

from reports import metrics
from reports.selectors import report_filter
from tests.factories import make_user
from tests.test_reports_data import NOW, b, build_november, roll_up

NOV = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


@pytest.fixture(params=["live", "rolled"])
def nov(request, org):
    data = build_november(org)
    if request.param == "rolled":
        roll_up(NOW)
        f = report_filter(org.sales_manager, now=NOW, **NOV)
        assert (f.rolled_until, f.funnel_rolled) == (date(2026, 11, 24), True)
    return data


def f_for(nov, **kwargs):
    return report_filter(nov.org.sales_manager, now=NOW, **{**NOV, **kwargs})


def test_first_touch_compliance_counts_decided_clocks_due_in_range(nov):
    # Due in November: L1 met, L2 breached, L3#1 breached (late), L3#2 met, L4 met (rep2),
    # L5 breached. L6 is still running (due 09:30 > NOW); L7/L8 were cancelled; L0 is October.
    ft = metrics.sales_compliance(f_for(nov))["first_touch"]
    assert (ft.decided, ft.met, ft.missed, ft.pct) == (6, 3, 3, 50.0)


def test_follow_up_cadence_attempts_made_and_spacing_kept(nov):
    # L1#2 met, L1#3 late (made), L3#2 (second hand-off) never made, L4#2 met,
    # L5#2 open past due at NOW (missed, not made). L3's first #2 was cancelled by the reject.
    fu = metrics.sales_compliance(f_for(nov))["follow_up"]
    assert (fu.decided, fu.met, fu.made) == (5, 2, 3)
    assert (fu.pct, fu.made_pct) == (40.0, 60.0)


def test_disposition_compliance(nov):
    # L1, L3 (reject), L3 (accept), L4 (SQL), L7, L8 met; L2 breached; L5, L6 not due yet.
    d = metrics.sales_compliance(f_for(nov))["disposition"]
    assert (d.decided, d.met, d.pct) == (7, 6, 85.7)


def test_reassigned_mid_clock_counts_for_the_owner_at_due_time(nov):
    org = nov.org
    rep = metrics.sales_compliance(f_for(nov, rep_id=org.rep.pk))
    rep2 = metrics.sales_compliance(f_for(nov, rep_id=org.rep2.pk))
    # L4 was reassigned before its first touch fell due: rep2's; L5 after: rep's breach.
    assert (rep["first_touch"].decided, rep["first_touch"].met) == (5, 2)
    assert (rep2["first_touch"].decided, rep2["first_touch"].met) == (1, 1)
    # L4#2 and L5#2 opened after the reassignments: both rep2's.
    assert (rep2["follow_up"].decided, rep2["follow_up"].met) == (2, 1)
    assert (rep["follow_up"].decided, rep["follow_up"].met) == (3, 1)
    # The leads behind rep's first-touch misses: L2, L3, L5.
    missed = metrics.leads_behind(
        f_for(nov, rep_id=org.rep.pk), metric="first_touch", outcome="missed"
    )
    assert set(missed.values_list("pk", flat=True)) == nov.ids("L2", "L3", "L5")


def test_tier_filter(nov):
    # Tier A clocks: L1 met, L3#1 breached, L3#2 met, L4 met (L6 running, L8 cancelled).
    ft = metrics.sales_compliance(f_for(nov, tier="A"))["first_touch"]
    assert (ft.decided, ft.met, ft.pct) == (4, 3, 75.0)


def test_time_to_first_touch_median_p90_and_histogram(nov):
    # Touch delays of the decided first-touch clocks: 20, 120, 5, 45, 180 min; L2 untouched.
    t = metrics.time_to_first_touch(f_for(nov))
    assert (t.clocks, t.touched, t.untouched) == (6, 5, 1)
    assert t.median_minutes == 45.0
    assert t.p90_minutes == 156.0  # 120 + 0.6 × (180 − 120)
    assert {key: n for key, _, n in t.histogram} == {
        "lt5m": 0,
        "5_15m": 1,
        "15_60m": 2,
        "1_4h": 2,
        "4_24h": 0,
        "1_3d": 0,
        "gt3d": 0,
        "untouched": 1,
    }
    behind = metrics.leads_behind(f_for(nov), metric="ttft", bucket="1_4h")
    assert set(behind.values_list("pk", flat=True)) == nov.ids("L3", "L5")


def test_percentile_fallback_matches_percentile_cont():
    assert metrics.percentile([5, 20, 45, 120, 180], 0.9) == 156.0
    assert metrics.percentile([1, 2], 0.5) == 1.5
    assert metrics.percentile([], 0.5) is None


def test_acceptance_counts_the_rejection_of_a_recycled_lead(nov):
    # Accepted (events to SAL): L1, L3 (after recycling). Rejected: L3, L7, L8.
    a = metrics.acceptance(f_for(nov))
    assert (a.accepted, a.rejected, a.pct) == (2, 3, 40.0)
    assert (a.floor_pct, a.judged, a.below_floor) == (60, True, True)
    assert metrics.rejection_reasons(f_for(nov)) == [("Bad fit", 2, 66.7), ("No budget", 1, 33.3)]
    behind = metrics.leads_behind(f_for(nov), metric="rejected", reason="Bad fit")
    assert set(behind.values_list("pk", flat=True)) == nov.ids("L3", "L8")


def test_volume_attainment_closed_and_running_periods(nov):
    rows = metrics.period_results(f_for(nov, start=date(2026, 10, 1)))
    assert [(r.start, r.status, r.actual, r.target) for r in rows] == [
        (b(2026, 10, 1), "missed", 1, 5),  # recorded by the quota evaluation: L0
        (b(2026, 11, 1), "running", 3, 5),  # live: L1, L3, L4 (stored 2 on 17 Nov)
    ]
    assert [r.attainment_pct for r in rows] == [20.0, 60.0]
    november = rows[1]
    period_id = (
        nov.org.agreement.versions.get()
        .obligations.get(lead=None, kind="lead_volume", period_start=november.start)
        .pk
    )
    behind = metrics.leads_behind(f_for(nov), metric="volume", period_id=period_id)
    assert set(behind.values_list("pk", flat=True)) == nov.ids("L1", "L3", "L4")
    # November only: October's period ends where the range starts.
    assert [r.status for r in metrics.period_results(f_for(nov))] == ["running"]


def test_weekly_and_monthly_trends(nov):
    weeks = metrics.trend(f_for(nov), "week")
    assert [p.start for p in weeks] == [
        date(2026, 10, 26),
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 23),
        date(2026, 11, 30),
    ]
    assert [p.first_touch.pct for p in weeks] == [None, 50.0, 0.0, 100.0, 0.0, None]
    assert [p.ttft_median_minutes for p in weeks] == [None, 20.0, 120.0, 25.0, 180.0, None]
    assert [p.acceptance.pct for p in weeks] == [None, 100.0, 0.0, 100.0, None, None]
    months = metrics.trend(f_for(nov), "month")
    assert [p.start for p in months] == [date(2026, 11, 1)]
    assert (months[0].first_touch.decided, months[0].first_touch.met) == (6, 3)
    assert months[0].disposition.pct == 85.7


def test_funnel_by_campaign_with_recycled_and_sla(nov):
    rows, total = metrics.funnel(f_for(nov), "campaign")
    by = {r.group: r.counts for r in rows}
    # C1: L1, L3, L4, L8; C2: L2, L5, L6, L7 (L0 entered the funnel in October).
    assert {k: by["C1"][k] for k in ("mql", "sal", "sql", "opportunity", "won")} == {
        "mql": 4,
        "sal": 3,
        "sql": 1,
        "opportunity": 1,
        "won": 1,
    }
    assert (by["C1"]["recycled"], by["C1"]["rejected"]) == (1, 2)
    assert (by["C1"]["sla_kept"], by["C1"]["sla_missed"]) == (2, 1)  # L1, L4 | L3
    assert (by["C2"]["mql"], by["C2"]["sal"], by["C2"]["sla_missed"]) == (4, 0, 2)  # L2, L5
    c1 = next(r for r in rows if r.group == "C1")
    assert c1.conversions == {
        "sal": 75.0,
        "sql": 33.3,
        "opportunity": 100.0,
        "won": 100.0,
        "overall": 25.0,
    }
    assert total.counts["mql"] == 8
    assert (total.counts["sla_kept"], total.counts["sla_missed"], total.sla_pct) == (2, 3, 40.0)
    assert (total.kept_to_sql_pct, total.missed_to_sql_pct) == (50.0, 0.0)
    assert (total.kept_to_won_pct, total.missed_to_won_pct) == (50.0, 0.0)


def test_funnel_by_lead_source_and_its_leads(nov):
    rows, _ = metrics.funnel(f_for(nov), "lead_source")
    by = {r.group: r.counts for r in rows}
    assert (by["Webinar"]["mql"], by["Webinar"]["sal"], by["Webinar"]["rejected"]) == (3, 3, 1)
    assert (by["Ads"]["mql"], by["Ads"]["rejected"], by["Ads"]["recycled"]) == (5, 2, 0)
    behind = metrics.leads_behind(
        f_for(nov), metric="funnel", outcome="sla_missed", by="lead_source", group="Ads"
    )
    assert set(behind.values_list("pk", flat=True)) == nov.ids("L2", "L5")


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled"])
def test_no_leads_gives_empty_figures(org, rolled):
    if rolled:
        roll_up(NOW)
    f = report_filter(org.sales_manager, now=NOW, **NOV)
    assert (f.rolled_until is not None) == rolled
    compliance = metrics.sales_compliance(f)
    assert all((c.decided, c.pct) == (0, None) for c in compliance.values())
    t = metrics.time_to_first_touch(f)
    assert (t.clocks, t.median_minutes, t.p90_minutes) == (0, None, None)
    assert metrics.acceptance(f).pct is None
    assert metrics.rejection_reasons(f) == []
    rows, total = metrics.funnel(f, "campaign")
    assert rows == [] and total.counts["mql"] == 0 and total.conversions["sal"] is None
    assert all(p.first_touch.pct is None for p in metrics.trend(f, "week"))


def test_a_user_sees_only_his_teams_agreements(nov):
    outsider = make_user("outsider")
    f = report_filter(outsider, now=NOW, **NOV)
    assert f.agreement_ids == ()
    assert metrics.sales_compliance(f)["first_touch"].decided == 0
    assert metrics.funnel(f, "campaign")[1].counts["mql"] == 0
    staff = make_user("boss", is_staff=True)
    assert metrics.sales_compliance(report_filter(staff, now=NOW, **NOV))["first_touch"].met == 3
    marketer = report_filter(nov.org.marketer, now=NOW, **NOV)
    assert metrics.sales_compliance(marketer)["first_touch"].met == 3


def test_every_funnel_count_equals_the_leads_behind_it(nov):
    f = f_for(nov)
    for by in metrics.FUNNEL_GROUPS:
        rows, total = metrics.funnel(f, by)
        for row in [*rows, total]:
            group = {"by": by, "group": row.group} if row is not total else {}
            for measure in metrics.FUNNEL_MEASURES:
                behind = metrics.leads_behind(f, metric="funnel", outcome=measure, **group)
                assert behind.count() == row.counts[measure], (by, row.group, measure)
