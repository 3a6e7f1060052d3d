"""The report rollups (reports/refresh.py) on the hand-built November of
tests/test_reports_data.py: changes after a refresh, days closing, the funnel kept current,
time zones, and two refreshes at once. Expected values are worked out by hand from the
story in test_reports_data.py (the base figures are those of test_reports_metrics.py)."""

import threading
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from leads import services
from reports import metrics, refresh, rollups
from reports.models import ClockDay, DispositionDay, RollupState, StaleLead
from reports.selectors import report_filter
from tests.test_reports_data import NOW, b, build_november, roll_up

NOV = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


@pytest.fixture
def nov(org, require_postgres):
    data = build_november(org)
    roll_up(NOW)
    return data


def f_at(nov, now=NOW, **kwargs):
    return report_filter(nov.org.sales_manager, now=now, **{**NOV, **kwargs})


def figures(f):
    """Everything a compliance or funnel page shows, for comparing rolled with live."""
    return (
        metrics.sales_compliance(f),
        metrics.time_to_first_touch(f),
        metrics.acceptance(f),
        metrics.rejection_reasons(f),
        metrics.trend(f, "week"),
        metrics.trend(f, "month"),
        metrics.funnel_all(f),
    )


def assert_same_as_live(f):
    assert f.rolled_until is not None and f.funnel_rolled
    live = replace(f, rolled_until=None, funnel_rolled=False)
    assert figures(f) == figures(live)


def first_touch(f):
    ft = metrics.sales_compliance(f)["first_touch"]
    return ft.decided, ft.met


def test_a_changed_tier_moves_closed_days_at_the_next_refresh(nov):
    # Tier A first touch: L1 met, L3#1 breached, L3#2 met, L4 met. Tier B: L2, L5 breached.
    assert first_touch(f_at(nov, tier="A")) == (4, 3)
    services.lead_update(lead=nov.leads["L1"], data={"tier": "B"})
    assert set(StaleLead.objects.values_list("lead_id", flat=True)) == nov.ids("L1")
    # Closed days show what the rollup read until the next refresh (a minute at most).
    assert first_touch(f_at(nov, tier="A")) == (4, 3)

    result = refresh.refresh(now=NOW)
    assert (result.stale_leads, StaleLead.objects.count()) == (1, 0)
    assert first_touch(f_at(nov, tier="A")) == (3, 2)
    assert first_touch(f_at(nov, tier="B")) == (3, 1)
    assert_same_as_live(f_at(nov, tier="B"))


def test_every_hand_off_marks_the_lead_once_whatever_its_stage(nov):
    from tests.factories import make_lead

    fresh = make_lead(nov.org, now=NOW)  # stage "new": the hand-off records MQL
    at_mql = make_lead(nov.org, now=NOW, stage="mql")  # already MQL: no stage event
    StaleLead.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        services.lead_hand_off(lead=fresh, now=NOW)
    services.lead_hand_off(lead=at_mql, now=NOW)
    assert set(StaleLead.objects.values_list("lead_id", flat=True)) == {fresh.pk, at_mql.pk}
    marks = [q for q in queries.captured_queries if "reports_stalelead" in q["sql"]]
    assert len(marks) == 1


def test_a_late_touch_on_a_closed_day_counts_as_an_attempt_made(nov):
    # L5's attempt #2 fell due on 24 November (rolled up) and was never made: (5, 2, 3).
    fu = metrics.sales_compliance(f_at(nov))["follow_up"]
    assert (fu.decided, fu.met, fu.made) == (5, 2, 3)
    services.activity_log(
        lead=nov.leads["L5"], kind="call", occurred_at=NOW, now=NOW, user=nov.org.rep2
    )
    refresh.refresh(now=NOW)
    fu = metrics.sales_compliance(f_at(nov))["follow_up"]
    assert (fu.decided, fu.met, fu.made) == (5, 2, 4)  # made late: still not met
    assert_same_as_live(f_at(nov))


def test_the_funnel_and_today_are_current_before_any_refresh(nov):
    # L6 (C2, handed off at 08:30 today) is accepted at NOW.
    services.lead_accept(lead=nov.leads["L6"], now=NOW)
    f = f_at(nov)
    rows, _ = metrics.funnel(f, "campaign")
    c2 = next(r for r in rows if r.group == "C2").counts
    assert (c2["mql"], c2["sal"]) == (4, 1)  # the changed lead is read live
    a = metrics.acceptance(f)
    assert (a.accepted, a.rejected, a.pct) == (3, 3, 50.0)  # today is always live
    assert_same_as_live(f)


def test_days_are_added_as_they_close(nov):
    later = NOW + timedelta(days=2)  # Friday 27 November, 09:00
    result = refresh.refresh(now=later)
    assert result.days_closed == 2
    assert RollupState.objects.get().through_day == date(2026, 11, 26)
    f = f_at(nov, now=later)
    assert f.rolled_until == date(2026, 11, 26)
    # L6's first touch (due 25 Nov 09:30) was never made: decided and missed.
    assert first_touch(f) == (7, 3)
    # L5's disposition (due 25 Nov 10:00) and L6's (due 27 Nov 08:30) are missed too.
    d = metrics.sales_compliance(f)["disposition"]
    assert (d.decided, d.met) == (9, 6)
    assert_same_as_live(f)


def test_a_report_judged_before_the_refresh_reads_those_days_live(nov):
    # Rolled through 24 November; judged at 20 November 12:00, only days to the 19th qualify.
    earlier = b(2026, 11, 20, 12, 0)
    f = f_at(nov, now=earlier)
    assert metrics.rolled_through(f) == date(2026, 11, 19)
    assert_same_as_live(f)


def test_a_report_in_another_time_zone_reads_live(nov):
    team = nov.org.agreement.sales_team_id
    assert rollups.coverage([team], ZoneInfo("Europe/Berlin")) == (date(2026, 11, 24), True)
    assert rollups.coverage([team], ZoneInfo("America/New_York")) == (None, True)
    assert rollups.coverage([team, 999_999], ZoneInfo("Europe/Berlin")) == (None, False)


def test_a_deleted_lead_leaves_the_closed_days(nov):
    # L2 (tier B, never touched): its first-touch breach on 2 November goes with it.
    assert first_touch(f_at(nov)) == (6, 3)
    services.lead_delete(leads=[nov.leads["L2"]], now=NOW)
    assert first_touch(f_at(nov)) == (5, 3)
    assert_same_as_live(f_at(nov))


def test_the_refresh_is_set_based(nov):
    for lead in nov.leads.values():
        services.lead_update(lead=lead, data={})
    with CaptureQueriesContext(connection) as queries:
        result = refresh.refresh(now=NOW)
    assert result.stale_leads == len(nov.leads) == 9
    # Queries per run of days, not per lead: 9 leads over 4 weeks take a few dozen.
    assert len(queries) <= 30, [q["sql"][:80] for q in queries]
    assert_same_as_live(f_at(nov))


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_write_each_row_once(org, require_postgres):
    build_november(org)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(refresh.refresh(now=NOW))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(r.teams_built for r in results) == [0, 1]  # the other found the lock taken
    keys = ClockDay.objects.values_list(
        "agreement_id", "day", "kind", "clause", "user_id", "tier", "lead_source"
    )
    assert len(keys) == len(set(keys)) > 0
    days = DispositionDay.objects.values_list("team_id", "day", "owner_id", "tier", "reason")
    assert len(days) == len(set(days)) > 0
    f = report_filter(org.sales_manager, now=NOW, **NOV)
    assert first_touch(f) == (6, 3)
    assert_same_as_live(f)


@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_on_redis_keeps_the_rollups(org, require_postgres):
    import time as wall

    import time_machine
    from celery.contrib.testing.worker import start_worker

    from reports import tasks
    from slahub.celery import app
    from tests.conftest import redis_url

    build_november(org)
    app.conf.update(broker_url=redis_url(), broker_transport_options={})
    with (
        time_machine.travel(NOW, tick=True),
        start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"),
    ):
        tasks.refresh_rollups.delay()
        deadline = wall.monotonic() + 30
        while StaleLead.objects.exists() and wall.monotonic() < deadline:
            wall.sleep(0.1)  # waiting for the worker, not for a clock
    assert RollupState.objects.get().through_day == date(2026, 11, 24)
    f = report_filter(org.sales_manager, now=NOW, **NOV)
    assert first_touch(f) == (6, 3)
    assert_same_as_live(f)


def test_every_beat_entry_names_a_registered_task(settings):
    from slahub.celery import app

    app.loader.import_default_modules()
    assert "reports.tasks.refresh_rollups" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rolled_up_figures_equal_live_ones_through_a_random_month(org, require_postgres, seed):
    """Three weeks of random work on 24 leads (touches on time and late, accepts, rejects,
    contested rejections upheld or returned, recycling and a second hand-off, conversions,
    reassignments, new tiers and sources, a deletion), with the checks and a refresh at
    random moments: after every refresh, every figure for every filter equals the live
    count."""
    import random

    from leads import checks
    from leads.models import Lead, RejectionContest
    from tests.factories import activate, add_commitment, make_lead

    rng = random.Random(seed)
    for kind, fields in [
        ("first_touch", {"within": "PT1H"}),
        ("follow_up", {"attempts": 3, "every": "P1D"}),
        ("disposition", {"within": "P2D"}),
        ("lead_quality", {"min_acceptance_pct": 60, "period": "month", "min_sample": 2}),
    ]:
        add_commitment(org.version, kind, clock="calendar", **fields)
    activate(org, now=b(2026, 10, 30, 9, 0))
    reps = [org.rep, org.rep2]
    t = b(2026, 11, 2, 8, 0)
    leads = []
    for _ in range(24):
        t += timedelta(minutes=rng.randint(20, 900))
        leads.append(
            make_lead(
                org,
                now=t,
                handed_off_at=t,
                owner=rng.choice(reps),
                tier=rng.choice("ABC"),
                lead_source=rng.choice(["Ads", "Webinar"]),
                campaign=rng.choice(["C1", "C2"]),
            )
        )
        for _step in range(rng.randint(0, 4)):
            lead = rng.choice(leads)
            if not Lead.objects.filter(pk=lead.pk).exists():
                continue
            lead.refresh_from_db()
            t += timedelta(minutes=rng.randint(5, 300))
            action = rng.random()
            try:
                if action < 0.4:
                    services.activity_log(
                        lead=lead,
                        kind="call",
                        occurred_at=t,
                        now=t,
                        user=lead.owner,
                        outcome=rng.choice(["attempted", "attempted", "connected"]),
                    )
                elif action < 0.5:
                    services.lead_accept(lead=lead, now=t)
                elif action < 0.6:
                    services.lead_reject(
                        lead=lead, reason=rng.choice(["Bad fit", "No budget"]), now=t
                    )
                    if rng.random() < 0.8:
                        services.rejection_contest_open(
                            lead=lead, user=org.marketing_manager, reason="-", now=t
                        )
                elif action < 0.65:
                    services.lead_set_stage(lead=lead, stage="recycled", now=t)
                    services.lead_hand_off(lead=lead, at=t, now=t)
                elif action < 0.7:
                    services.lead_set_stage(lead=lead, stage="sql", now=t)
                elif action < 0.8:
                    services.lead_reassign(lead=lead, owner=rng.choice(reps), now=t)
                elif action < 0.87:
                    services.lead_update(
                        lead=lead,
                        data={
                            "tier": rng.choice("ABC"),
                            "lead_source": rng.choice(["Ads", "Webinar"]),
                        },
                    )
                elif action < 0.89:
                    services.lead_delete(leads=[lead], now=t)
                elif action < 0.97:  # decide the open contest, contest a rejection
                    contest = RejectionContest.objects.filter(decision="").first()
                    if contest is not None:
                        services.rejection_contest_decide(
                            contest=contest,
                            user=org.sales_manager,
                            decision=rng.choice(["upheld", "returned", "returned"]),
                            now=t,
                        )
                    rejected = Lead.objects.filter(stage="rejected", contests__isnull=True)
                    if rejected.exists():
                        services.rejection_contest_open(
                            lead=rejected.first(), user=org.marketing_manager, reason="-", now=t
                        )
                else:
                    checks.deadline_scan(now=t)
            except services.ValidationError:
                pass  # not allowed in the lead's stage: a real user would be told so
        if rng.random() < 0.3:
            refresh.refresh(now=t)
            f = report_filter(org.sales_manager, now=t, **NOV)
            if f.rolled_until is None:
                continue
            for extra in ({}, {"rep_id": org.rep.pk}, {"tier": "A"}, {"lead_source": "Ads"}):
                assert_same_as_live(replace(f, **extra))
    end = t + timedelta(days=2)
    checks.deadline_scan(now=end)
    refresh.refresh(now=end)
    f = report_filter(org.sales_manager, now=end, **NOV)
    assert f.rolled_until == (end.astimezone(f.tz) - timedelta(days=1)).date()
    for extra in ({}, {"rep_id": org.rep2.pk}, {"tier": "B"}, {"lead_source": "Webinar"}):
        assert_same_as_live(replace(f, **extra))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rolled_percentiles_equal_percentile_cont_over_many_delays(org, require_postgres, seed):
    """Thousands of delays (fractions of a second, ties, negative, never touched) over
    three weeks of rollup rows, two reps: the median, p90, histogram and weekly and monthly
    medians read from the bucket counts equal PostgreSQL's percentile_cont over the same
    delays, for the whole team and for one rep, in three queries."""
    import random

    from reports.models import ClockDay
    from reports.refresh import _with_buckets, first_touch_days_sql

    rng = random.Random(seed)
    team = org.agreement.sales_team_id
    RollupState.objects.create(
        team_id=team, timezone="Europe/Berlin", through_day=date(2026, 11, 24), refreshed_at=NOW
    )
    delays: dict[tuple[date, int], list] = {}
    for day in range(2, 23):
        for rep in (org.rep, org.rep2):
            values = [
                rng.choice(
                    [
                        rng.uniform(0, 600),
                        rng.expovariate(1 / 3600),
                        float(rng.randint(0, 40) * 60),  # ties on whole minutes
                        rng.uniform(-30, 0),  # a touch logged before the hand-off
                        None,
                        300.0,  # a histogram bound itself
                    ]
                )
                for _ in range(rng.randint(0, 150))
            ]
            values.sort(key=lambda s: (s is None, s or 0.0))
            delays[(date(2026, 11, day), rep.pk)] = values
            ClockDay.objects.create(
                agreement_id=org.agreement.pk,
                day=date(2026, 11, day),
                kind="first_touch",
                user_id=rep.pk,
                decided=len(values),
                met=0,
                **_with_buckets(values),
            )
    with connection.cursor() as cursor:  # the per-day rows, as the refresh adds them up
        cursor.execute(*first_touch_days_sql([org.agreement.pk], date(2026, 11, 1), NOV["end"]))

    def expected(rep_id=None):
        rows = [(d, s) for (d, r), vs in delays.items() if rep_id in (None, r) for s in vs]
        by_week: dict[date, list] = {}
        for d, s in rows:
            by_week.setdefault(d - timedelta(days=d.weekday()), []).append(s)
        with connection.cursor() as cursor:
            cont = "percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s)"
            cursor.execute(f"SELECT {cont} FROM unnest(%s::float8[]) s", [[s for _, s in rows]])
            median, p90 = cursor.fetchone()[0]
            weeks = {}
            for week, values in by_week.items():
                cursor.execute(f"SELECT {cont} FROM unnest(%s::float8[]) s", [values])
                weeks[week] = cursor.fetchone()[0][0]
        touched = [s for _, s in rows if s is not None]
        histogram = [
            sum(
                1
                for s in touched
                if lo.total_seconds() <= s and (hi is None or s < hi.total_seconds())
            )
            for _, _, lo, hi in metrics.TTFT_BUCKETS
        ]
        return len(rows), len(touched), median, p90, weeks, histogram

    for rep_id in (None, org.rep.pk):
        f = report_filter(org.sales_manager, now=NOW, rep_id=rep_id, **NOV)
        assert f.rolled_until == date(2026, 11, 24)
        with CaptureQueriesContext(connection) as queries:
            summary = metrics.ttft_summary(f)
        assert len(queries) <= 2
        clocks, touched, median, p90, weeks, histogram = expected(rep_id)
        t = summary.overall
        assert (t.clocks, t.touched) == (clocks, touched)
        assert t.median_minutes == round(median / 60, 1)
        assert t.p90_minutes == round(p90 / 60, 1)
        assert [n for _, _, n in t.histogram] == [*histogram, clocks - touched]
        assert {k: v for k, v in summary.medians["week"].items() if v is not None} == weeks
        month = expected_month_median(delays, rep_id)
        assert summary.medians["month"] == {date(2026, 11, 1): month}


def expected_month_median(delays, rep_id):
    values = [s for (_, r), vs in delays.items() if rep_id in (None, r) for s in vs]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) FROM unnest(%s::float8[]) s",
            [values],
        )
        return cursor.fetchone()[0]


def test_a_team_not_rolled_up_yet_is_read_live_beside_the_others(nov):
    """A new agreement's team has no rollups until the next refresh: the funnel over both
    reads that team live and the other from its rollups, with the live answer."""
    from reports.loadgen import load_year
    from reports.selectors import agreements_filter

    second = load_year(50, NOW, label="Second org")
    f = agreements_filter([nov.org.agreement, second.agreement], now=NOW, **NOV)
    assert not f.funnel_rolled  # the second team has no rollups yet
    with CaptureQueriesContext(connection) as queries:
        split = metrics.funnel_all(f)
    assert any("reports_funnellead" in q["sql"] for q in queries)  # the first team's facts
    RollupState.objects.all().delete()
    assert metrics.funnel_all(f) == split
    # Every one of the second org's leads handed off in November entered the funnel then.
    _, total = split["campaign"]
    alone = metrics.funnel_all(agreements_filter([nov.org.agreement], now=NOW, **NOV))
    entered = second_leads_entered_in_november(second)
    assert total.counts["mql"] == alone["campaign"][1].counts["mql"] + entered > entered


def second_leads_entered_in_november(org) -> int:
    from leads.models import Lead

    start, end = b(2026, 11, 1, 0, 0), b(2026, 12, 1, 0, 0)
    return Lead.objects.filter(
        sales_team=org.sales, handed_off_at__gte=start, handed_off_at__lt=end
    ).count()


def test_a_running_volume_period_counts_its_closed_days_from_the_rollup(nov):
    # November's SAL quota so far: L1, L3, L4 (see test_reports_metrics), days to the 24th
    # from the rollup, today live.
    with CaptureQueriesContext(connection) as queries:
        rows = metrics.period_results(f_at(nov))
    assert any("reports_reachday" in q["sql"] for q in queries.captured_queries)
    assert [r.actual for r in rows] == [3]
    services.lead_accept(lead=nov.leads["L6"], now=NOW)  # today: counted at once
    assert [r.actual for r in metrics.period_results(f_at(nov))] == [4]
    later = NOW + timedelta(days=2)
    refresh.refresh(now=later)
    f = f_at(nov, now=later)
    assert f.rolled_until == date(2026, 11, 26)  # L6's acceptance day is now rolled up
    live = replace(f, rolled_until=None, funnel_rolled=False)
    assert [r.actual for r in metrics.period_results(f)] == [4]
    assert [r.actual for r in metrics.period_results(live)] == [4]
