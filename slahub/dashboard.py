"""Reads for the dashboard pages: who someone is here, their queue, team compliance, quota
pace. Aggregates run in the database; each function costs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet

from agreements.models import Agreement, AgreementVersion, Commitment, Membership, Side, Team
from agreements.periods import acceptance_pct, period_containing, projected
from leads.models import Breach, Lead, Obligation
from leads.selectors import dispositions_in, leads_reaching_stage

Status = Obligation.Status


# Who is who ------------------------------------------------------------------------------


@dataclass
class Roles:
    """A person's memberships, read once per page."""

    memberships: list[Membership] = field(default_factory=list)

    def teams(self, side: str | None = None, *, managed: bool = False) -> list[Team]:
        return [
            m.team
            for m in self.memberships
            if (side is None or m.team.side == side)
            and (not managed or m.role == Membership.Role.MANAGER)
        ]

    def home_of(self, user) -> str:
        """The URL name of this person's home page (staff outside teams: the team page)."""
        if not self.memberships and user.is_staff:
            return "team-home"
        return self.home

    @property
    def home(self) -> str:
        """The URL name of a team member's home page."""
        if self.teams(Side.SALES, managed=True):
            return "team-home"
        if self.teams(Side.SALES):
            return "queue"
        if self.teams(Side.MARKETING):
            return "marketing-home"
        return "welcome"

    @property
    def is_any_manager(self) -> bool:
        return any(m.role == Membership.Role.MANAGER for m in self.memberships)

    def timezone(self) -> str:
        return self.memberships[0].team.timezone if self.memberships else "UTC"


def roles_of(user) -> Roles:
    return Roles(list(Membership.objects.filter(user=user).select_related("team")))


def local_day(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """Midnight to midnight of `now`'s date in time zone `tz`."""
    local = now.astimezone(ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)  # wall-clock: the next local midnight


# Compliance ------------------------------------------------------------------------------


def compliance_filters(*, start: datetime, now: datetime) -> tuple[Q, Q, Q]:
    """(decided, met, missed): clocks decided in [start, now] are those due then or met
    then; met in time, or missed (breached, or open past due and not yet scanned)."""
    decided = Q(due_at__gte=start, due_at__lte=now) | Q(
        status=Status.MET, met_at__gte=start, met_at__lte=now
    )
    met = Q(status=Status.MET)
    missed = Q(status=Status.BREACHED) | Q(status=Status.OPEN, due_at__lte=now)
    return decided, met, missed


def _pct(met: int, missed: int) -> float | None:
    return None if met + missed == 0 else round(100.0 * met / (met + missed), 1)


@dataclass
class Compliance:
    label: str
    met: int
    missed: int

    @property
    def pct(self) -> float | None:
        return _pct(self.met, self.missed)


def team_compliance(teams: list[Team], *, now: datetime, tz: str) -> list[Compliance]:
    """Today, this week and this month, for the sales clocks of `teams` (one query)."""
    zone = ZoneInfo(tz)
    starts = {
        "Today": local_day(now, tz)[0],
        "This week": period_containing("week", now, zone).start,
        "This month": period_containing("month", now, zone).start,
    }
    base = Obligation.objects.filter(team__in=teams, lead__isnull=False)
    earliest = min(starts.values())
    decided, met, missed = compliance_filters(start=earliest, now=now)
    scoped = base.filter(decided)
    aggregates = {}
    for i, start in enumerate(starts.values()):
        in_window = Q(due_at__gte=start) | Q(status=Status.MET, met_at__gte=start)
        aggregates[f"met{i}"] = Count("id", filter=in_window & met)
        aggregates[f"missed{i}"] = Count("id", filter=in_window & missed)
    row = scoped.aggregate(**aggregates)
    return [Compliance(label, row[f"met{i}"], row[f"missed{i}"]) for i, label in enumerate(starts)]


@dataclass
class RepCompliance:
    user_id: int
    name: str
    met: int
    missed: int
    open: int

    @property
    def pct(self) -> float | None:
        return _pct(self.met, self.missed)


def rep_compliance(teams: list[Team], *, now: datetime, tz: str) -> list[RepCompliance]:
    """This month's compliance of each member of `teams`, the worst first, with the clocks
    still running for them (one query)."""
    start = period_containing("month", now, ZoneInfo(tz)).start
    base = Obligation.objects.filter(team__in=teams, lead__isnull=False, user__isnull=False)
    decided, met, missed = compliance_filters(start=start, now=now)
    running = Q(status=Status.OPEN, due_at__gt=now)
    rows = (
        base.filter(decided | running)
        .values("user_id", "user__username", "user__first_name", "user__last_name")
        .annotate(
            met=Count("id", filter=decided & met),
            missed=Count("id", filter=decided & missed),
            open=Count("id", filter=running),
        )
        .order_by("user__username")
    )
    reps = [
        RepCompliance(
            r["user_id"],
            f"{r['user__first_name']} {r['user__last_name']}".strip() or r["user__username"],
            r["met"],
            r["missed"],
            r["open"],
        )
        for r in rows
    ]
    return sorted(reps, key=lambda r: (r.pct if r.pct is not None else 101, r.name))


def breaches_to_acknowledge(teams: list[Team]) -> QuerySet[Breach]:
    """Open breaches of `teams`, the most recent first."""
    return (
        Breach.objects.filter(team__in=teams, status=Breach.Status.OPEN)
        .select_related("lead", "user")
        .order_by("-due_at", "-id")
    )


# Marketing -------------------------------------------------------------------------------


def agreements_of(teams: list[Team]) -> QuerySet[Agreement]:
    return (
        Agreement.objects.filter(Q(marketing_team__in=teams) | Q(sales_team__in=teams))
        .select_related("calendar", "marketing_team", "sales_team")
        .distinct()
    )


@dataclass
class QuotaPace:
    commitment: Commitment
    start: datetime
    end: datetime
    target: int
    actual: int
    projection: float
    elapsed: float
    chart: dict

    @property
    def last_day(self) -> datetime:
        return self.end - timedelta(days=1)

    @property
    def on_pace(self) -> bool:
        return self.actual >= self.target or self.projection >= self.target


def quota_pace(agreement: Agreement, commitment: Commitment, *, now: datetime) -> QuotaPace:
    """Actual against target against the straight pace line, day by day, with the
    projection to period end if the pace so far holds (two queries)."""
    tz = ZoneInfo(agreement.calendar.timezone)
    period = period_containing(commitment.period, now, tz)
    reached = leads_reaching_stage(agreement, commitment.stage, period.start, period.end)
    firsts = sorted(row["first_reached"] for row in reached)
    days = []
    day = period.start
    while day < period.end:
        days.append(day)
        day += timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    today = now.astimezone(tz)
    actual_series: list[int | None] = []
    pace_series: list[float] = []
    projection_series: list[float | None] = []
    elapsed = period.elapsed_fraction(now)
    total = projected(len(firsts), elapsed) if elapsed else 0.0
    count = i = 0
    target = commitment.target or 0
    for n, start in enumerate(days):
        end = days[n + 1] if n + 1 < len(days) else period.end
        while i < len(firsts) and firsts[i] < end:
            count, i = count + 1, i + 1
        past = start <= today
        actual_series.append(count if past else None)
        share = (end - period.start) / (period.end - period.start)
        pace_series.append(round(target * share, 1))
        if start <= today < end:
            projection_series.append(count)
        elif start > today:
            projection_series.append(round(total * share, 1))
        else:
            projection_series.append(None)
    chart = {
        "labels": [d.strftime("%b %d") for d in days],
        "actual": actual_series,
        "pace": pace_series,
        "projection": projection_series,
        "target": [target] * len(days),
        "unit": f"{commitment.stage.upper()}s",
    }
    return QuotaPace(
        commitment, period.start, period.end, target, len(firsts), round(total, 1), elapsed, chart
    )


def acceptance(agreement: Agreement, *, start: datetime, end: datetime) -> dict:
    accepted, rejected = dispositions_in(agreement, start, end)
    return {
        "accepted": accepted,
        "rejected": rejected,
        "pct": acceptance_pct(accepted, rejected),
    }


def rejection_reasons_ranked(agreement: Agreement, *, start: datetime, end: datetime) -> list:
    return list(
        Lead.objects.filter(
            sales_team_id=agreement.sales_team_id, rejected_at__gte=start, rejected_at__lt=end
        )
        .values("rejection_reason")
        .annotate(n=Count("id"))
        .order_by("-n", "rejection_reason")
    )


def handed_off_between(agreement: Agreement, start: datetime, end: datetime) -> QuerySet[Lead]:
    return (
        Lead.objects.filter(
            sales_team_id=agreement.sales_team_id,
            handed_off_at__gte=start,
            handed_off_at__lt=end,
        )
        .select_related("owner")
        .order_by("-handed_off_at", "-id")
    )


def active_version(agreement: Agreement) -> AgreementVersion | None:
    return agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first()
