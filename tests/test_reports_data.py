"""A small, hand-built November for the report tests; the right answers are worked out by
hand in the tests (and in the comments here), never by the code under test.

Calendar clocks keep the arithmetic readable: first touch PT1H, follow-up 3 attempts P1D
apart, disposition P2D, 5 SALs a month, 60% acceptance from 2 dispositions.
The report is judged at NOW = Wednesday 25 November 2026, 09:00 Berlin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from leads import checks, services
from leads.models import Lead
from tests.factories import Org, activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)


def b(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@dataclass
class November:
    org: Org
    leads: dict[str, Lead]

    def ids(self, *names: str) -> set[int]:
        return {self.leads[n].pk for n in names}


def _touch(lead, at, user, outcome="attempted"):
    services.activity_log(
        lead=lead, kind="call", occurred_at=at, now=at, user=user, outcome=outcome
    )


def roll_up(now: datetime) -> None:
    """Build the report rollups as the periodic check would at `now` (PostgreSQL only)."""
    from django.db import connection

    from reports import refresh
    from tests.conftest import service_missing

    if connection.vendor != "postgresql":
        service_missing("the report rollups need PostgreSQL (set DATABASE_URL=postgres://…)")
    assert refresh.refresh(now=now).teams_built == 1


def build_november(org: Org) -> November:
    for kind, fields in [
        ("first_touch", {"within": "PT1H"}),
        ("follow_up", {"attempts": 3, "every": "P1D"}),
        ("disposition", {"within": "P2D"}),
        ("lead_volume", {"target": 5, "stage": "sal", "period": "month"}),
        ("lead_quality", {"min_acceptance_pct": 60, "period": "month", "min_sample": 2}),
    ]:
        add_commitment(org.version, kind, clock="calendar", **fields)
    activate(org, now=b(2026, 9, 30, 9, 0))  # before October: whole periods
    rep, rep2 = org.rep, org.rep2
    leads: dict[str, Lead] = {}

    def lead(name, handed, **fields):
        leads[name] = make_lead(org, now=handed, handed_off_at=handed, name=name, **fields)
        return leads[name]

    # L0 — October: touched in time, accepted; its follow-up #2 (due 30 Oct) is breached.
    l0 = lead("L0", b(2026, 10, 29, 10, 0), tier="A", lead_source="Webinar", campaign="C1")
    _touch(l0, b(2026, 10, 29, 10, 10), rep)
    services.lead_accept(lead=l0, now=b(2026, 10, 29, 11, 0))
    checks.quota_evaluation(now=b(2026, 10, 30, 12, 0))  # opens October's periods
    checks.quota_evaluation(now=b(2026, 11, 1, 1, 0))  # October missed (1 of 5); opens November

    # L1 — first touch after 20 min (met); #2 met; #3 made late (breached); accepted.
    l1 = lead("L1", b(2026, 11, 2, 10, 0), tier="A", lead_source="Webinar", campaign="C1")
    _touch(l1, b(2026, 11, 2, 10, 20), rep)
    services.lead_accept(lead=l1, now=b(2026, 11, 2, 11, 0))
    _touch(l1, b(2026, 11, 3, 9, 0), rep)
    _touch(l1, b(2026, 11, 4, 12, 0), rep, outcome="connected")

    # L2 — never touched nor dispositioned: first touch and disposition breached by the scan.
    lead("L2", b(2026, 11, 2, 10, 0), tier="B", lead_source="Ads", campaign="C2")

    # L3 — touched late (120 min), rejected "Bad fit", recycled, handed off again, touched
    # after 5 min, accepted; the second cadence's #2 is never made (breached by the scan).
    l3 = lead("L3", b(2026, 11, 9, 10, 0), tier="A", lead_source="Webinar", campaign="C1")
    _touch(l3, b(2026, 11, 9, 12, 0), rep)
    services.lead_reject(lead=l3, reason="Bad fit", now=b(2026, 11, 9, 13, 0))
    services.lead_set_stage(lead=l3, stage="recycled", now=b(2026, 11, 12, 10, 0))
    l3.refresh_from_db()
    services.lead_hand_off(lead=l3, at=b(2026, 11, 16, 10, 0), now=b(2026, 11, 16, 10, 0))
    _touch(l3, b(2026, 11, 16, 10, 5), rep)
    services.lead_accept(lead=l3, now=b(2026, 11, 16, 12, 0))

    # L7, L8 — rejected before any touch (first touch and cadence cancelled).
    l7 = lead("L7", b(2026, 11, 10, 10, 0), tier="B", lead_source="Ads", campaign="C2")
    services.lead_reject(lead=l7, reason="No budget", now=b(2026, 11, 10, 10, 30))
    l8 = lead("L8", b(2026, 11, 11, 10, 0), tier="A", lead_source="Ads", campaign="C1")
    services.lead_reject(lead=l8, reason="Bad fit", now=b(2026, 11, 11, 10, 15))

    checks.quota_evaluation(now=b(2026, 11, 17, 12, 0))  # November so far: L1, L3 → 2

    # L4 — reassigned to rep2 mid-clock; rep2 touches after 45 min (met), connects the next
    # day (#2 met), moves it to SQL (disposition met), then opportunity and won.
    l4 = lead("L4", b(2026, 11, 18, 10, 0), tier="A", lead_source="Webinar", campaign="C1")
    services.lead_reassign(lead=l4, owner=rep2, now=b(2026, 11, 18, 10, 30))
    _touch(l4, b(2026, 11, 18, 10, 45), rep2)
    _touch(l4, b(2026, 11, 19, 10, 0), rep2, outcome="connected")
    services.lead_set_stage(lead=l4, stage="sql", now=b(2026, 11, 19, 11, 0))
    services.lead_set_stage(lead=l4, stage="opportunity", now=b(2026, 11, 20, 10, 0))

    checks.deadline_scan(now=b(2026, 11, 20, 12, 0))  # L2 ×2, L3's #2, L0's #2

    services.lead_set_stage(lead=l4, stage="won", now=b(2026, 11, 23, 9, 0))

    # L5 — reassigned after its first touch fell due: that breach stays with rep; rep2
    # touches at 13:00 (180 min); #2 (due 24 Nov 13:00) is still open at NOW: missed.
    l5 = lead("L5", b(2026, 11, 23, 10, 0), tier="B", lead_source="Ads", campaign="C2")
    services.lead_reassign(lead=l5, owner=rep2, now=b(2026, 11, 23, 12, 0))
    _touch(l5, b(2026, 11, 23, 13, 0), rep2)

    # L6 — handed off at 08:30 today: its first touch is due 09:30, still running at NOW.
    lead("L6", b(2026, 11, 25, 8, 30), tier="A", lead_source="Ads", campaign="C2")
    return November(org, leads)
