"""A small, realistic organisation around the real clock, for the browser tests and their
screenshots: named people, calendar-time terms, leads in every state."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agreements.models import RejectionReason
from leads import checks, services
from tests.factories import Org, activate, add_commitment, make_lead, make_org

PEOPLE = {
    "rep": ("Riya", "Shah"),
    "rep2": ("Tom", "Berger"),
    "sales_manager": ("Sam", "Keller"),
    "marketing_manager": ("Mia", "Lorenz"),
    "marketer": ("Max", "Vogel"),
}
COMPANIES = [
    ("Anna Weber", "Nordlicht GmbH", "A", "Webinar"),
    ("Jonas Klein", "Bergwerk AG", "B", "Paid search"),
    ("Lea Fischer", "Hafen Logistics", "A", "Trade show"),
    ("Paul Braun", "Kiefer & Co", "C", "Content download"),
    ("Sofia Wolf", "Elbe Energy", "B", "Webinar"),
    ("Ben Schulz", "Rheinwerk Tools", "A", "Referral"),
    ("Emma Roth", "Alpen Foods", "B", "Paid search"),
    ("Noah Hahn", "Spree Media", "C", "Webinar"),
]


def demo_org(now: datetime) -> tuple[Org, dict]:
    """Terms in calendar time (so the clocks read the same whatever the weekday), leads
    handed off over the last days: some touched in time, some breached, some decided."""
    org = make_org(now=now)
    for name, (first, last) in PEOPLE.items():
        user = getattr(org, name)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    org.marketing.timezone = org.sales.timezone = "Europe/Berlin"
    org.marketing.save(update_fields=["timezone"])
    org.sales.save(update_fields=["timezone"])
    org.agreement.name = "Demand gen ↔ Inside sales"
    org.agreement.save(update_fields=["name"])
    local = now.astimezone(ZoneInfo("Europe/Berlin"))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = min(month_start, now - timedelta(days=25)) - timedelta(days=1)
    v = org.version
    add_commitment(v, "first_touch", clock="calendar", within="PT4H", applies_to={"tier": ["A"]})
    add_commitment(v, "first_touch", clock="calendar", within="PT8H", order=1)
    add_commitment(v, "follow_up", clock="calendar", attempts=3, every="P1D")
    add_commitment(v, "disposition", clock="calendar", within="P2D")
    add_commitment(v, "lead_volume", target=12, stage="sal", period="month")
    add_commitment(v, "lead_quality", min_acceptance_pct=60, period="month", min_sample=5)
    activate(org, now=since)
    RejectionReason.objects.bulk_create(
        [
            RejectionReason(code="no-budget", label="No budget", order=1),
            RejectionReason(code="wrong-fit", label="Not our kind of company", order=2),
            RejectionReason(code="student", label="Student or job seeker", order=3),
            RejectionReason(code="duplicate", label="Duplicate", order=4),
        ]
    )
    made: dict = {"old": [], "fresh": [], "sal_this_month": 0, "rejected_this_month": 0}
    # Earlier this month: accepted (SAL) and rejected leads, so marketing's chart has a line
    # (in the first hours of a month they fall in the month before). The rejections come
    # last, nearest to now, so the month's reasons chart has them from the 1st on.
    reasons = ["no-budget", "no-budget", "wrong-fit", "student"]
    last = now - timedelta(hours=3)
    first_day = max(month_start, now - timedelta(days=20))
    if last - first_day < timedelta(days=1):
        first_day = last - timedelta(days=2)
    span = (last - first_day).total_seconds()
    for i in range(9):
        at = first_day + timedelta(seconds=span * (i + 0.5) / 9)
        name, company, tier, source = COMPANIES[i % len(COMPANIES)]
        lead = make_lead(
            org,
            now=at,
            handed_off_at=at,
            name=f"{name} {i}",
            company=company,
            tier=tier,
            lead_source=source,
            owner=org.rep if i % 2 else org.rep2,
        )
        services.activity_log(
            lead=lead,
            kind="call",
            occurred_at=at + timedelta(hours=1),
            now=at + timedelta(hours=1),
            user=lead.owner,
        )
        decided = at + timedelta(hours=2)
        if i >= 9 - len(reasons):
            services.lead_reject(lead=lead, reason=reasons[i - 9 + len(reasons)], now=decided)
            made["rejected_this_month"] += decided >= month_start
        else:
            services.lead_accept(lead=lead, now=decided)
            made["sal_this_month"] += decided >= month_start
        made["old"].append(lead)
    # A Tier A lead nobody touched: its first touch is breached by the scan.
    late = now - timedelta(hours=6)
    made["breached"] = make_lead(
        org,
        now=late,
        handed_off_at=late,
        name="Lukas Meyer",
        company="Isar Robotics",
        tier="A",
        lead_source="Webinar",
        owner=org.rep2,
    )
    checks.deadline_scan(now=now - timedelta(minutes=1))
    # Fresh leads in the rep's queue; the Tier A one from 4½ hours ago is already overdue.
    for i, (minutes, tier) in enumerate([(270, "A"), (90, "A"), (30, "B")]):
        at = now - timedelta(minutes=minutes)
        name, company, _, source = COMPANIES[(i + 3) % len(COMPANIES)]
        made["fresh"].append(
            make_lead(
                org,
                now=at,
                handed_off_at=at,
                name=name,
                company=company,
                tier=tier,
                lead_source=source,
                owner=org.rep,
            )
        )
    made["unassigned"] = make_lead(
        org,
        now=now - timedelta(minutes=10),
        handed_off_at=now - timedelta(minutes=10),
        name="Clara Neumann",
        company="Weser Bikes",
        tier="B",
        lead_source="Paid search",
        owner=None,
    )
    checks.quota_evaluation(now=now)
    return org, made
