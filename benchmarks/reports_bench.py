"""Report timings at size (called by `make bench` through benchmarks/run.py).

`run(n_leads)` loads a year of `n_leads` handed-off leads into the current PostgreSQL
database with set-based INSERT … SELECT (stage events, first-touch, follow-up and
disposition clocks, touches, monthly quota periods), builds the report rollups as the
periodic check would, times each report once on a warm cache (from the rollups, and live
for comparison), times a refresh after a day's worth of changed leads, and rolls
everything back. Returns seconds per measurement.
"""

from __future__ import annotations

import time
from datetime import timedelta

WINDOW_DAYS = 365


def _setup(now):
    """A separate organisation (its own team names), active terms, two reps."""
    from django.contrib.auth.models import User

    from agreements.models import (
        Agreement,
        AgreementVersion,
        BusinessCalendar,
        Commitment,
        Membership,
        Team,
    )

    calendar = BusinessCalendar.objects.create(name="Bench calendar", timezone="Europe/Berlin")
    marketing = Team.objects.create(name="Bench marketing", side="marketing", calendar=calendar)
    sales = Team.objects.create(name="Bench sales", side="sales", calendar=calendar)
    reps = [User.objects.create_user(f"bench-rep-{i}") for i in range(4)]
    manager = User.objects.create_user("bench-manager", is_staff=True)
    for user in reps:
        Membership.objects.create(team=sales, user=user)
    agreement = Agreement.objects.create(
        name="Bench agreement", marketing_team=marketing, sales_team=sales, calendar=calendar
    )
    signed = now - timedelta(days=400)
    version = AgreementVersion.objects.create(
        agreement=agreement, number=1, status="active", activated_at=signed, effective_at=signed
    )
    kinds = {
        "first_touch": {"within": "PT1H"},
        "follow_up": {"attempts": 3, "every": "P1D"},
        "disposition": {"within": "P2D"},
        "lead_volume": {"target": 1000, "stage": "sal", "period": "month"},
        "lead_quality": {"min_acceptance_pct": 60, "period": "month"},
    }
    commitments = {
        kind: Commitment.objects.create(version=version, kind=kind, clock="calendar", **fields)
        for kind, fields in kinds.items()
    }
    return agreement, version, sales, marketing, reps, manager, commitments


LEADS_SQL = """
INSERT INTO leads_lead (source_system, external_id, name, email, company, title, phone,
  country, tier, score, lead_source, campaign, stage, owner_id, sales_team_id,
  marketing_team_id, handed_off_at, agreement_version_id, accepted_at, rejected_at,
  rejection_reason, created_at, updated_at)
SELECT 'reports-bench', 'rb' || g, 'Lead ' || g, '', '', '', '', 'DE',
  (ARRAY['A','B','C'])[1 + g %% 3], g %% 100,
  (ARRAY['Webinar','Paid search','Event','Content download'])[1 + g %% 4],
  'Campaign ' || (g %% 20),
  CASE WHEN g %% 10 < 3 THEN 'sal' WHEN g %% 10 < 5 THEN 'sql' WHEN g %% 10 = 5 THEN 'won'
       WHEN g %% 10 = 6 THEN 'rejected' ELSE 'mql' END,
  (%(reps)s::bigint[])[1 + g %% 4], %(sales)s, %(marketing)s,
  %(start)s::timestamptz + (g::float / %(n)s) * interval '%(days)s days', %(version)s,
  NULL, NULL, '', now(), now()
FROM generate_series(1, %(n)s) g
"""

EVENTS_SQL = """
INSERT INTO leads_stageevent (lead_id, from_stage, to_stage, occurred_at, user_id, note)
SELECT id, 'new', 'mql', handed_off_at, NULL, '' FROM leads_lead WHERE sales_team_id = %(sales)s
UNION ALL
SELECT id, 'mql', 'sal', handed_off_at + interval '3 hours', owner_id, '' FROM leads_lead
  WHERE sales_team_id = %(sales)s AND stage IN ('sal', 'sql', 'won')
UNION ALL
SELECT id, 'sal', 'sql', handed_off_at + interval '5 days', owner_id, '' FROM leads_lead
  WHERE sales_team_id = %(sales)s AND stage IN ('sql', 'won')
UNION ALL
SELECT id, 'sql', 'won', handed_off_at + interval '20 days', owner_id, '' FROM leads_lead
  WHERE sales_team_id = %(sales)s AND stage = 'won'
UNION ALL
SELECT id, 'mql', 'rejected', handed_off_at + interval '2 hours', owner_id,
  (ARRAY['No budget','Competitor','Wrong contact details'])[1 + id %% 3]
  FROM leads_lead WHERE sales_team_id = %(sales)s AND stage = 'rejected'
"""

ACTIVITIES_SQL = """
INSERT INTO leads_activity (lead_id, kind, outcome, occurred_at, user_id, source_system,
  external_id, note, created_at)
SELECT id, 'call', 'attempted', handed_off_at + (id %% 150) * interval '1 minute', owner_id,
  '', '', '', now() FROM leads_lead WHERE sales_team_id = %(sales)s AND id %% 17 <> 0
UNION ALL
SELECT id, 'email', 'connected', handed_off_at + interval '1 day', owner_id, '', '', '', now()
  FROM leads_lead WHERE sales_team_id = %(sales)s AND id %% 2 = 0
"""

CLOCKS_SQL = """
INSERT INTO leads_obligation (kind, side, commitment_id, agreement_version_id, lead_id,
  attempt, period_start, team_id, user_id, starts_at, warn_at, due_at, status, met_at,
  met_by_id, warned_at, closed_at, target, actual, sample, at_risk_at, created_at)
SELECT 'first_touch', 'sales', %(first_touch)s, %(version)s, id, 1, NULL::timestamptz,
  sales_team_id,
  owner_id, handed_off_at, NULL::timestamptz, handed_off_at + interval '1 hour',
  CASE WHEN id %% 17 = 0 OR id %% 150 > 60 THEN 'breached' ELSE 'met' END,
  CASE WHEN id %% 17 = 0 OR id %% 150 > 60 THEN NULL
       ELSE handed_off_at + (id %% 150) * interval '1 minute' END,
  NULL::bigint, NULL::timestamptz, handed_off_at + interval '1 hour',
  NULL::int, NULL::int, NULL::int, NULL::timestamptz, now()
FROM leads_lead WHERE sales_team_id = %(sales)s
UNION ALL
SELECT 'follow_up', 'sales', %(follow_up)s, %(version)s, id, 2, NULL::timestamptz,
  sales_team_id, owner_id,
  handed_off_at + (id %% 150) * interval '1 minute', NULL,
  handed_off_at + (id %% 150) * interval '1 minute' + interval '1 day',
  CASE WHEN id %% 2 = 0 THEN 'met' ELSE 'breached' END, NULL, NULL, NULL,
  handed_off_at + interval '1 day', NULL, NULL, NULL, NULL, now()
FROM leads_lead WHERE sales_team_id = %(sales)s AND id %% 17 <> 0
UNION ALL
SELECT 'disposition', 'sales', %(disposition)s, %(version)s, id, 1, NULL::timestamptz,
  sales_team_id,
  owner_id, handed_off_at, NULL, handed_off_at + interval '2 days',
  CASE WHEN stage = 'mql' THEN 'breached' ELSE 'met' END, NULL, NULL, NULL,
  handed_off_at + interval '2 days', NULL, NULL, NULL, NULL, now()
FROM leads_lead WHERE sales_team_id = %(sales)s
"""


def _load(n_leads: int, now) -> dict:
    from zoneinfo import ZoneInfo

    from django.db import connection

    from leads.models import Obligation
    from reports.metrics import recent_periods

    agreement, version, sales, marketing, reps, manager, commitments = _setup(now)
    params = {
        "n": n_leads,
        "reps": [r.pk for r in reps],
        "sales": sales.pk,
        "marketing": marketing.pk,
        "start": now - timedelta(days=WINDOW_DAYS),
        "days": WINDOW_DAYS,
        "version": version.pk,
        **{kind: c.pk for kind, c in commitments.items()},
    }
    with connection.cursor() as cursor:
        cursor.execute(LEADS_SQL.replace("%(days)s", str(WINDOW_DAYS)), params)
        for sql in (EVENTS_SQL, ACTIVITIES_SQL, CLOCKS_SQL):
            cursor.execute(sql, params)
    months = recent_periods("month", now, ZoneInfo("Europe/Berlin"), 13)
    Obligation.objects.bulk_create(
        Obligation(
            kind=kind,
            side="marketing",
            commitment=commitments[kind],
            agreement_version=version,
            team=marketing,
            starts_at=p.start,
            period_start=p.start,
            due_at=p.end,
            status="open" if p is months[-1] else "met",
            target=commitments[kind].target,
            actual=None if p is months[-1] else n_leads // 24,
        )
        for p in months
        for kind in ("lead_volume", "lead_quality")
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"agreement": agreement, "manager": manager}


def _timed(fn) -> float:
    fn()  # warm the cache, as a page in use would be
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(n_leads: int, live: bool = True) -> dict[str, float]:
    """Seconds per report over a year of `n_leads` leads (PostgreSQL; rolled back after);
    with `live`, the pages are also timed without the rollups."""
    from dataclasses import replace

    from django.db import connection, transaction
    from django.utils import timezone

    from leads.models import Lead
    from reports import metrics, refresh, rollups, tables
    from reports.scorecard import scorecard
    from reports.selectors import report_filter

    if connection.vendor != "postgresql":
        raise RuntimeError("The reports benchmark needs PostgreSQL.")
    now = timezone.now()
    results: dict[str, float] = {}
    with transaction.atomic():
        org = _load(n_leads, now)
        user, agreement = org["manager"], org["agreement"]
        results["rollups: first build (whole year)"] = _once(lambda: refresh.refresh(now=now))
        # A day's worth of changed leads (a year's leads / 365), e.g. touched or re-tiered.
        changed = Lead.objects.filter(source_system="reports-bench").order_by("-id")
        rollups.mark_stale(changed.values_list("id", flat=True)[: max(1, n_leads // 365)])
        results["rollups: refresh after a day of changed leads"] = _once(
            lambda: refresh.refresh(now=now)
        )
        results["rollups: idle refresh (nothing changed)"] = _once(lambda: refresh.refresh(now=now))
        quarter = report_filter(user, now=now, agreement=agreement)  # the last 90 days
        year = report_filter(user, now=now, agreement=agreement, default_days=WINDOW_DAYS)
        month = report_filter(user, now=now, agreement=agreement, default_days=30)
        assert year.rolled_until is not None and year.funnel_rolled
        for name, f in (("30 days", month), ("90 days", quarter), ("365 days", year)):
            modes = [("", f)]
            if live:
                modes.append((" (live)", replace(f, rolled_until=None, funnel_rolled=False)))
            for mode, g in modes:
                results[f"compliance page tables, {name}{mode}"] = _timed(
                    lambda g=g: tables.compliance_tables(g, {})
                )
                results[f"funnel page tables, {name}{mode}"] = _timed(
                    lambda g=g: tables.funnel_tables(g, {})
                )
        results["first-touch compliance alone, 365 days"] = _timed(
            lambda: metrics.sales_compliance(year)
        )
        results["scorecard (3 months)"] = _timed(lambda: scorecard(agreement, now=now))
        results["leads behind a figure (first page), 365 days"] = _timed(
            lambda: list(metrics.leads_behind(year, metric="first_touch", outcome="missed")[:50])
        )
        transaction.set_rollback(True)
    return results


if __name__ == "__main__":  # python -m benchmarks.reports_bench N (current DATABASE_URL)
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slahub.settings_test")
    django.setup()
    for label, seconds in run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000).items():
        print(f"{label:<48} {seconds * 1000:10.1f} ms")
