"""A realistic organisation for the demo: two teams, an agreement signed twice, and about
90 days of leads, touches, dispositions and conversions replayed through the services in
time order, with the checks run at the end of each day as the worker would have."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction

from agreements import services as agreement_services
from agreements.models import (
    Agreement,
    BusinessCalendar,
    Commitment,
    Membership,
    RejectionReason,
    Side,
    Team,
    WorkingHours,
)
from alerts import services as alert_services
from alerts.models import Alert
from leads import checks, services
from leads.models import Lead

PASSWORD = "slahub-demo"
TZ = ZoneInfo("Europe/Berlin")
PEOPLE = [
    # username, first, last, team, role
    ("sam", "Sam", "Schneider", "sales", "manager"),
    ("riley", "Riley", "Rossi", "sales", "member"),
    ("casey", "Casey", "Chen", "sales", "member"),
    ("jordan", "Jordan", "Jansen", "sales", "member"),
    ("alex", "Alex", "Abara", "sales", "member"),
    ("morgan", "Morgan", "Meyer", "marketing", "manager"),
    ("max", "Max", "Müller", "marketing", "member"),
]
# How quickly each rep makes the first touch, in minutes (median), and how often they forget.
REP_HABITS = {"riley": (8, 0.02), "casey": (20, 0.05), "jordan": (45, 0.10), "alex": (90, 0.15)}
REASONS = [
    ("no-budget", "No budget"),
    ("wrong-contact", "Wrong contact details"),
    ("student", "Student or job seeker"),
    ("competitor", "Competitor"),
    ("not-icp", "Outside our target market"),
]
SOURCES = [("Webinar", 0.3), ("Paid search", 0.25), ("Content download", 0.25), ("Event", 0.2)]
CAMPAIGNS = ["Q3 Webinar series", "Spring launch", "Pricing guide", "Trade fair Cologne"]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark GmbH",
    "Wayne AG",
    "Soylent",
    "Vandelay",
    "Kramerica",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Wonka",
    "Gringotts",
]
FIRST = ["Jane", "John", "Lena", "Paul", "Mia", "Noah", "Emma", "Lukas", "Sofia", "Ben", "Hanna"]
LAST = ["Doe", "Schmidt", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Koch", "Richter"]


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    action: Callable[[datetime], None] = field(compare=False)


def _calendar() -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(
        name="Berlin office",
        timezone="Europe/Berlin",
        holiday_country="DE",
        holiday_subdivision="BE",
    )
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=calendar, weekday=d, start=time(9), end=time(17)) for d in range(5)
    )
    return calendar


def _people(marketing: Team, sales: Team) -> dict[str, User]:
    users = {}
    for username, first, last, side, role in PEOPLE:
        user = User.objects.create_user(
            username, f"{username}@example.com", PASSWORD, first_name=first, last_name=last
        )
        team = sales if side == "sales" else marketing
        Membership.objects.create(team=team, user=user, role=role)
        users[username] = user
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    return users


def _commitments(version, *, tier_a_touch: str) -> None:
    business = Commitment.Clock.BUSINESS
    rows = [
        ("first_touch", 1, {"tier": ["A"]}, {"within": tier_a_touch}),
        ("first_touch", 2, {"tier": ["B"]}, {"within": "PT2H"}),
        ("first_touch", 3, {}, {"within": "P1D"}),
        ("follow_up", 1, {"tier": ["A", "B"]}, {"attempts": 6, "every": "P2D"}),
        ("follow_up", 2, {}, {"attempts": 3, "every": "P3D"}),
        ("disposition", 1, {}, {"within": "P2D"}),
        ("lead_volume", 1, {}, {"target": 100, "stage": "sal", "period": "month"}),
        ("lead_quality", 1, {}, {"min_acceptance_pct": 60, "min_sample": 20, "period": "month"}),
    ]
    for kind, order, applies_to, terms in rows:
        agreement_services.commitment_create(
            version=version, kind=kind, order=order, applies_to=applies_to, clock=business, **terms
        )


def _sign(version, users, at: datetime) -> None:
    agreement_services.agreement_version_propose(version=version, now=at)
    agreement_services.agreement_version_sign(version=version, user=users["sam"], now=at)
    agreement_services.agreement_version_sign(
        version=version, user=users["morgan"], now=at + timedelta(hours=3)
    )


def _touch(lead: Lead, user: User, kind: str, outcome: str, at: datetime) -> None:
    services.activity_log(lead=lead, kind=kind, outcome=outcome, occurred_at=at, now=at, user=user)


def _lead_story(rng: random.Random, lead: Lead, owner: str, handed: datetime, users, push):
    """Schedule what happens to one lead after its hand-off."""
    median, forgets = REP_HABITS[owner]
    if rng.random() < forgets:
        return  # nobody ever touches it: every clock breaches
    when = handed + timedelta(minutes=rng.lognormvariate(0, 0.9) * median)
    if when.astimezone(TZ).time() > time(17):
        when = (when + timedelta(days=1)).replace(hour=8) + timedelta(minutes=rng.randint(5, 90))
    user = users[owner]
    attempts = rng.randint(1, 6)
    for n in range(attempts):
        connected = rng.random() < 0.35 or n == attempts - 1 and rng.random() < 0.5
        outcome = "connected" if connected else "attempted"
        kind = rng.choice(["call", "call", "email"])
        push(when, partial(_touch, lead, user, kind, outcome))
        if connected:
            break
        when += timedelta(days=rng.choice([1, 2, 2, 2, 3, 4]), minutes=rng.randint(-60, 60))
    decided = handed + timedelta(hours=rng.choice([2, 5, 20, 30, 44, 70]))
    if rng.random() >= 0.68:
        reason = rng.choices([c for c, _ in REASONS], weights=[5, 3, 2, 1, 4])[0]
        push(decided, partial(_reject, lead, user, reason))
        return
    push(decided, partial(_stage, lead, user, "sal"))
    later = decided
    for stage, chance in [
        ("sql", 0.5),
        ("opportunity", 0.5),
        ("won" if rng.random() < 0.4 else "lost", 1),
    ]:
        if rng.random() >= chance:
            return
        later += timedelta(days=rng.randint(2, 20))
        push(later, partial(_stage, lead, user, stage))


def _stage(lead: Lead, user: User, stage: str, at: datetime) -> None:
    services.lead_set_stage(lead=lead, stage=stage, now=at, user=user, at=at)


def _reject(lead: Lead, user: User, reason: str, at: datetime) -> None:
    services.lead_reject(lead=lead, reason=reason, now=at, user=user, at=at)


def build(*, now: datetime, days: int = 90, seed: int = 7, per_day: int = 8) -> dict[str, int]:
    """Fill an empty database with the demo organisation, replayed up to `now`."""
    rng = random.Random(seed)
    with transaction.atomic():
        calendar = _calendar()
        marketing = Team.objects.create(
            name="Demand Generation",
            side=Side.MARKETING,
            timezone="Europe/Berlin",
            calendar=calendar,
        )
        sales = Team.objects.create(
            name="Inside Sales", side=Side.SALES, timezone="Europe/Berlin", calendar=calendar
        )
        users = _people(marketing, sales)
        RejectionReason.objects.bulk_create(
            RejectionReason(team=sales, code=c, label=label, order=i)
            for i, (c, label) in enumerate(REASONS)
        )
        agreement = Agreement.objects.create(
            name="Demand Generation ↔ Inside Sales",
            marketing_team=marketing,
            sales_team=sales,
            calendar=calendar,
        )
        now = now.replace(microsecond=0)
        start = (now - timedelta(days=days)).astimezone(TZ).replace(hour=0, minute=0, second=0)
        v1 = agreement_services.agreement_version_draft(
            agreement=agreement, user=users["morgan"], summary="Our first SLA."
        )
        _commitments(v1, tier_a_touch="PT30M")
        _sign(v1, users, start - timedelta(days=7, hours=-10))
        v2 = agreement_services.agreement_version_draft(
            agreement=agreement,
            user=users["sam"],
            summary="Tier A first touch tightened from 30 to 15 business minutes.",
        )
        v2.commitments.filter(kind="first_touch", order=1).update(within="PT15M")

    queue: list[Event] = []
    counter = iter(range(10**9))

    def push(at: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(queue, Event(at, next(counter), action))

    push(now - timedelta(days=30), lambda at: _sign(v2, users, at))
    reps = list(REP_HABITS)
    day = start
    while day < now:
        if day.weekday() < 5:
            for _ in range(rng.randint(per_day - 3, per_day + 3)):
                handed = day.replace(hour=rng.randint(7, 18), minute=rng.randint(0, 59))
                push(handed, partial(_new_lead, rng, rng.random(), users, reps, push))
        end_of_day = day.replace(hour=23, minute=55)
        push(end_of_day, lambda at: (checks.deadline_scan(now=at), checks.quota_evaluation(now=at)))
        day = (day + timedelta(days=1, hours=2)).replace(hour=0)

    while queue and queue[0].at <= now:
        event = heapq.heappop(queue)
        with transaction.atomic():
            event.action(event.at)
    checks.deadline_scan(now=now)
    checks.quota_evaluation(now=now)
    alert_services.escalate_breaches(now=now)  # old unanswered breaches were escalated then
    # The replayed past is history: nobody is emailed about it when the worker starts.
    Alert.objects.filter(status__in=[Alert.Status.PENDING, Alert.Status.HELD]).update(
        status=Alert.Status.SKIPPED
    )
    return {"leads": Lead.objects.count(), "users": User.objects.count()}


def _new_lead(rng, roll: float, users, reps, push, at: datetime) -> None:
    tier = "A" if roll < 0.2 else "B" if roll < 0.55 else "C"
    owner = None if rng.random() < 0.04 else rng.choice(reps)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    source = rng.choices([s for s, _ in SOURCES], weights=[w for _, w in SOURCES])[0]
    lead = services.lead_create(
        source_system="demo",
        external_id=f"demo-{at:%Y%m%d%H%M}-{rng.randint(1000, 9999)}",
        name=f"{first} {last}",
        email=f"{first}.{last}@{company.split()[0].lower()}.example".lower(),
        company=company,
        title=rng.choice(["Head of IT", "CFO", "Operations lead", "Procurement", "CTO"]),
        country=rng.choice(["DE", "DE", "AT", "CH", "NL"]),
        tier=tier,
        score=rng.randint(20, 99),
        lead_source=source,
        campaign=rng.choice(CAMPAIGNS),
        owner=users[owner] if owner else None,
        sales_team=Team.objects.get(side=Side.SALES),
        marketing_team=Team.objects.get(side=Side.MARKETING),
        handed_off_at=at,
        now=at,
    )
    if owner:
        _lead_story(rng, lead, owner, at, users, push)
