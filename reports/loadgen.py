"""A realistic year of report data at size, loaded set-based (`generate_load`, the bench).

`load_year(n_leads, now)` creates a separate organisation (its own calendar, teams, four
reps and a sales manager, active terms with all five commitment kinds) and loads a year of
`n_leads` handed-off leads with `INSERT … SELECT` (an even stream over the year, four reps,
three tiers, four lead sources, twenty campaigns): about 2.1 stage events, 1.4 touches and
2.9 lead clocks per lead (first touch, one follow-up attempt, disposition; met or breached
in fixed shares), and the monthly volume and quality quota periods. Nothing is loaded row by
row. PostgreSQL only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection

from agreements.models import (
    Agreement,
    AgreementVersion,
    BusinessCalendar,
    Commitment,
    Membership,
    Team,
)
from leads.models import Obligation
from reports.metrics import recent_periods

WINDOW_DAYS = 365
TIMEZONE = "Europe/Berlin"


@dataclass
class LoadedOrg:
    agreement: Agreement
    version: AgreementVersion
    sales: Team
    marketing: Team
    reps: list[User]
    manager: User  # the sales team's manager (not staff)
    source_system: str  # the leads' source_system, unique to this load


def _setup(now: datetime, label: str) -> LoadedOrg:
    calendar = BusinessCalendar.objects.create(name=f"{label} calendar", timezone=TIMEZONE)
    marketing = Team.objects.create(name=f"{label} marketing", side="marketing", calendar=calendar)
    sales = Team.objects.create(name=f"{label} sales", side="sales", calendar=calendar)
    slug = label.lower().replace(" ", "-")
    reps = [User.objects.create_user(f"{slug}-rep-{i}") for i in range(4)]
    manager = User.objects.create_user(f"{slug}-manager")
    for user in reps:
        Membership.objects.create(team=sales, user=user)
    Membership.objects.create(team=sales, user=manager, role=Membership.Role.MANAGER)
    agreement = Agreement.objects.create(
        name=f"{label} agreement", marketing_team=marketing, sales_team=sales, calendar=calendar
    )
    signed = now - timedelta(days=WINDOW_DAYS + 35)
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
    for kind, fields in kinds.items():
        Commitment.objects.create(version=version, kind=kind, clock="calendar", **fields)
    return LoadedOrg(agreement, version, sales, marketing, reps, manager, slug)


LEADS_SQL = """
INSERT INTO leads_lead (source_system, external_id, name, email, company, title, phone,
  country, tier, score, lead_source, campaign, stage, owner_id, sales_team_id,
  marketing_team_id, handed_off_at, agreement_version_id, accepted_at, rejected_at,
  rejection_reason, created_at, updated_at)
SELECT %(source)s, 'rb' || g, 'Lead ' || g, '', '', '', '', 'DE',
  (ARRAY['A','B','C'])[1 + g %% 3], g %% 100,
  (ARRAY['Webinar','Paid search','Event','Content download'])[1 + g %% 4],
  'Campaign ' || (g %% 20),
  CASE WHEN g %% 10 < 3 THEN 'sal' WHEN g %% 10 < 5 THEN 'sql' WHEN g %% 10 = 5 THEN 'won'
       WHEN g %% 10 = 6 THEN 'rejected' ELSE 'mql' END,
  (%(reps)s::bigint[])[1 + g %% 4], %(sales)s, %(marketing)s,
  %(start)s::timestamptz + (g::float / %(n)s) * %(days)s * interval '1 day', %(version)s,
  NULL, NULL, '', now(), now()
FROM generate_series(1, %(n)s) g
"""

EVENTS_SQL = """
INSERT INTO leads_stageevent (lead_id, from_stage, to_stage, occurred_at, user_id, note)
SELECT id, 'new', 'mql', handed_off_at, NULL, '' FROM leads_lead WHERE sales_team_id = %(sales)s
UNION ALL
SELECT id, 'mql', 'sal', handed_off_at + interval '3 hours', owner_id, '' FROM leads_lead
  WHERE sales_team_id = %(sales)s AND stage IN ('sal', 'sql', 'won')
  AND handed_off_at + interval '3 hours' <= %(now)s
UNION ALL
SELECT id, 'sal', 'sql', handed_off_at + interval '5 days', owner_id, '' FROM leads_lead
  WHERE sales_team_id = %(sales)s AND stage IN ('sql', 'won')
  AND handed_off_at + interval '5 days' <= %(now)s
UNION ALL
SELECT id, 'sql', 'won', handed_off_at + interval '20 days', owner_id, '' FROM leads_lead
  WHERE sales_team_id = %(sales)s AND stage = 'won'
  AND handed_off_at + interval '20 days' <= %(now)s
UNION ALL
SELECT id, 'mql', 'rejected', handed_off_at + interval '2 hours', owner_id,
  (ARRAY['No budget','Competitor','Wrong contact details'])[1 + id %% 3]
  FROM leads_lead WHERE sales_team_id = %(sales)s AND stage = 'rejected'
  AND handed_off_at + interval '2 hours' <= %(now)s
"""

ACTIVITIES_SQL = """
INSERT INTO leads_activity (lead_id, kind, outcome, occurred_at, user_id, source_system,
  external_id, note, created_at)
SELECT id, 'call', 'attempted', handed_off_at + (id %% 150) * interval '1 minute', owner_id,
  '', '', '', now() FROM leads_lead WHERE sales_team_id = %(sales)s AND id %% 17 <> 0
  AND handed_off_at + (id %% 150) * interval '1 minute' <= %(now)s
UNION ALL
SELECT id, 'email', 'connected', handed_off_at + interval '1 day', owner_id, '', '', '', now()
  FROM leads_lead WHERE sales_team_id = %(sales)s AND id %% 2 = 0
  AND handed_off_at + interval '1 day' <= %(now)s
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


FUTURE_SQL = """
UPDATE leads_obligation SET status = 'open', met_at = NULL, closed_at = NULL
WHERE team_id = %(sales)s AND lead_id IS NOT NULL AND status IN ('met', 'breached')
  AND COALESCE(met_at, closed_at) > %(now)s;
UPDATE leads_lead l SET stage = e.to_stage FROM (
  SELECT DISTINCT ON (lead_id) lead_id, to_stage FROM leads_stageevent
  WHERE lead_id IN (SELECT id FROM leads_lead WHERE sales_team_id = %(sales)s
    AND handed_off_at > %(now)s::timestamptz - interval '21 days')
  ORDER BY lead_id, occurred_at DESC
) e WHERE l.id = e.lead_id AND l.stage <> e.to_stage;
"""


def load_year(n_leads: int, now: datetime, *, label: str = "Bench") -> LoadedOrg:
    """A year (up to `now`) of `n_leads` handed-off leads of a new organisation named
    `label` (team and user names derive from it, so it must be new), then ANALYZE. The
    caller chooses the transaction; the rollups are not built here."""
    if connection.vendor != "postgresql":
        raise RuntimeError("Generating load needs PostgreSQL.")
    if not connection.in_atomic_block:
        raise RuntimeError("Call load_year inside a transaction (transaction.atomic).")
    org = _setup(now, label)
    commitments = {c.kind: c for c in org.version.commitments.all()}
    params = {
        "n": n_leads,
        "source": org.source_system,
        "reps": [r.pk for r in org.reps],
        "sales": org.sales.pk,
        "marketing": org.marketing.pk,
        "start": now - timedelta(days=WINDOW_DAYS),
        "days": WINDOW_DAYS,
        "now": now,
        "version": org.version.pk,
        **{kind: c.pk for kind, c in commitments.items()},
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        if cursor.fetchone()[0]:
            # The rows reference only rows made just above, so their foreign keys hold by
            # construction; checking each (Django's deferred checks, one trigger per row and
            # key, run at commit) took most of the time: 4 of 5 minutes at a million leads.
            cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in (LEADS_SQL, EVENTS_SQL, ACTIVITIES_SQL, CLOCKS_SQL):
            cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        # Nothing is known after `now`: a clock that would have been met or breached later
        # is still open, and a lead's stage is the last one it reached by now.
        cursor.execute(FUTURE_SQL, params)
    months = recent_periods("month", now, ZoneInfo(TIMEZONE), 13)
    Obligation.objects.bulk_create(
        Obligation(
            kind=kind,
            side="marketing",
            commitment=commitments[kind],
            agreement_version=org.version,
            team=org.marketing,
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
    return org
