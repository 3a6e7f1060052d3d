"""The figures of the role homes (the sales manager's team page, the marketing home), read
through the report metrics with a `ReportFilter` like every report page: the same range
and filter give the same number here, on the compliance page, the scorecard and in the API.

- Team compliance: the lead clocks due today / this week / this month (local days of the
  agreement calendar), judged at `now` by the metrics' clock rule (`metrics.clock_days`).
- Quota pace: the running volume period as `metrics.period_results` counts it.
- Acceptance and rejection reasons: `metrics.acceptance` / `metrics.rejection_reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from agreements.models import Agreement, Commitment, Team
from agreements.periods import Period, period_containing, projected
from leads.models import Obligation
from reports import metrics
from reports.metrics import ClockCompliance, ReportFilter
from reports.selectors import agreements_filter, agreements_tz
from reports.tables import KIND_LABELS, day_label

Kind = Commitment.Kind
Status = Obligation.Status


def _kinds() -> dict[str, ClockCompliance]:
    # Plain strings, not the Kind members: the figures are pickled into the shared cache.
    return {str(kind): ClockCompliance(str(kind)) for kind in metrics.SALES_KINDS}


def _total(kinds: dict[str, ClockCompliance]) -> ClockCompliance:
    total = ClockCompliance("all")
    for c in kinds.values():
        total.decided += c.decided
        total.met += c.met
    return total


@dataclass
class Compliance:
    """The team's lead clocks due in one range (`first_day`‥`last_day`), per kind and in all."""

    key: str  # today, week, month
    label: str
    first_day: date
    last_day: date
    kinds: dict[str, ClockCompliance] = field(default_factory=_kinds)

    @property
    def all(self) -> ClockCompliance:
        return _total(self.kinds)

    @property
    def by_kind(self) -> list[tuple[str, str, ClockCompliance]]:
        return [(kind, KIND_LABELS[kind], c) for kind, c in self.kinds.items()]

    @property
    def met(self) -> int:
        return self.all.met

    @property
    def missed(self) -> int:
        return self.all.missed

    @property
    def pct(self) -> float | None:
        return self.all.pct


@dataclass
class RepCompliance:
    user_id: int
    name: str
    kinds: dict[str, ClockCompliance] = field(default_factory=_kinds)
    open: int = 0  # clocks still running for the rep (not yet due)

    @property
    def met(self) -> int:
        return _total(self.kinds).met

    @property
    def missed(self) -> int:
        return _total(self.kinds).missed

    @property
    def pct(self) -> float | None:
        return _total(self.kinds).pct


@dataclass
class TeamHome:
    agreements: list[Agreement]
    compliance: list[Compliance]
    reps: list[RepCompliance]


def sales_agreements(teams: list[Team]) -> list[Agreement]:
    return list(
        Agreement.objects.filter(sales_team__in=teams).select_related("calendar").order_by("pk")
    )


def team_home(teams: list[Team], *, now: datetime) -> TeamHome:
    """Today, this week and this month for the lead clocks of the teams' agreements, and each
    rep's month (worst first): one read of the clocks per local day, kind and rep (the rollups
    for closed days, the rest live) and one of the reps with the clocks still running."""
    agreements = sales_agreements(teams)
    tz = agreements_tz(agreements)
    today = now.astimezone(tz).date()
    week = period_containing("week", now, tz)
    month = period_containing("month", now, tz)
    ranges = [
        Compliance("today", "Today", today, today),
        Compliance("week", "This week", week.start.date(), _last_day(week)),
        Compliance("month", "This month", month.start.date(), _last_day(month)),
    ]
    first = min(r.first_day for r in ranges)
    last = max(r.last_day for r in ranges)
    f = agreements_filter(agreements, now=now, start=first, end=last)
    # No `report_reads` session here: a home reads at most a few weeks, mostly from the
    # rollups, where the planner's estimates stay small (its three statements would cost more).
    days = metrics.clock_days(f, by=("user_id",))
    reps: dict[int, RepCompliance] = {}
    for (day, kind, user_id), counts in days.items():
        for r in ranges:
            if r.first_day <= day <= r.last_day:
                _add(r.kinds[kind], counts)
        if user_id is not None and ranges[2].first_day <= day <= ranges[2].last_day:
            _add(reps.setdefault(user_id, RepCompliance(user_id, "")).kinds[kind], counts)
    _name_reps(reps, f, now=now)
    ranked = sorted(reps.values(), key=lambda r: (r.pct if r.pct is not None else 101, r.name))
    return TeamHome(agreements, ranges, ranked)


def _last_day(period: Period) -> date:
    return (period.end - timedelta(microseconds=1)).date()


def _add(total: ClockCompliance, more: ClockCompliance) -> None:
    total.decided += more.decided
    total.met += more.met
    total.made += more.made


def _name_reps(reps: dict[int, RepCompliance], f: ReportFilter, *, now: datetime) -> None:
    """Names of the reps counted, and of those with clocks still running (one query)."""
    running = Q(
        obligations__status=Status.OPEN,
        obligations__due_at__gt=now,
        obligations__lead__isnull=False,
        obligations__team_id__in=f.sales_team_ids,
        obligations__agreement_version__agreement_id__in=f.agreement_ids,
    )
    users = (
        get_user_model()
        .objects.filter(Q(pk__in=list(reps)) | running)
        .annotate(running=Count("obligations", filter=running))
        .distinct()
    )
    for user in users:
        rep = reps.setdefault(user.pk, RepCompliance(user.pk, ""))
        rep.name = user.get_full_name() or user.username
        rep.open = user.running


# Marketing --------------------------------------------------------------------------------


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
    period: metrics.PeriodResult | None = None  # the quota period the check judges
    note: str = ""  # when the running period is judged under other terms than these

    @property
    def last_day(self) -> datetime:
        return self.end - timedelta(days=1)

    @property
    def on_pace(self) -> bool:
        return self.actual >= self.target or self.projection >= self.target


@dataclass
class MarketingHome:
    period: Period  # of the acceptance figures (the quality commitment's, else the month)
    paces: list[QuotaPace]
    acceptance: metrics.Acceptance
    reasons: list[tuple[str, int, float | None]]
    filter: ReportFilter


def marketing_home(
    agreement: Agreement,
    *,
    volume: list[Commitment],
    quality: Commitment | None,
    now: datetime,
) -> MarketingHome:
    """Quota pace of each volume commitment, and acceptance and rejection reasons over the
    quality commitment's period (else the month), by the report metrics."""
    f = agreements_filter([agreement], now=now)
    period = period_containing(quality.period if quality else "month", now, f.tz)
    f = replace(f, start=period.start, end=period.end)
    paces = _paces(agreement, volume, f, now=now)
    # One read of the dispositions serves the rate and the reasons (as `team_home`, no
    # `report_reads` session: a period's worth of rows).
    by_reason = metrics.disposition_counts(f, by=("reason",))
    per_day: dict[date, tuple[int, int]] = {}
    for (day, _), (accepted, rejected) in by_reason.items():
        a, r = per_day.get(day, (0, 0))
        per_day[day] = (a + accepted, r + rejected)
    accepted = metrics.acceptance(f, dispositions=per_day)
    reasons = metrics.rejection_reasons(f, by_reason=by_reason)
    return MarketingHome(period, paces, accepted, reasons, f)


def _paces(
    agreement: Agreement, volume: list[Commitment], f: ReportFilter, *, now: datetime
) -> list[QuotaPace]:
    if not volume:
        return []
    periods = {c.pk: period_containing(c.period, now, f.tz) for c in volume}
    span = replace(
        f,
        start=min(p.start for p in periods.values()),
        end=max(p.end for p in periods.values()),
    )
    results = metrics.period_results(span, per_day=True)
    paces = []
    for c in volume:
        period = periods[c.pk]
        result = next(
            (r for r in results if r.clause == c.clause and r.start == period.start), None
        )
        starts = f"{period.end.astimezone(f.tz):%-d %b}"
        if result is not None and result.reached_per_day is not None:
            reached, target = result.reached_per_day, result.target or 0
            note = (
                ""
                if result.commitment_id == c.pk
                else f"This {c.period} is judged under v{result.version_number}'s terms "
                f"(a target of {target}); these terms apply from {starts}."
            )
        else:  # no quota period judged (the terms came into force after it began)
            reached = metrics.reached_per_day(f, agreement, c.stage, period.start, period.end)
            target = c.target or 0
            note = (
                f"No quota is judged this {c.period}: these terms came into force after it "
                f"began and apply from {starts}. The count is shown for information."
            )
        pace = _pace(c, period, reached, target, now=now, result=result)
        pace.note = note
        paces.append(pace)
    return paces


def _pace(
    commitment: Commitment,
    period: Period,
    reached: dict[date, int],
    target: int,
    *,
    now: datetime,
    result: metrics.PeriodResult | None,
) -> QuotaPace:
    """Actual against target against the straight pace line, day by day, with the
    projection to period end if the pace so far holds. `reached`: the leads counted, by the
    local day they first reached the stage."""
    days = []
    day = period.start
    while day < period.end:
        days.append(day)
        day += timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    today = now.astimezone(period.start.tzinfo)
    actual_series: list[int | None] = []
    pace_series: list[float] = []
    projection_series: list[float | None] = []
    elapsed = period.elapsed_fraction(now)
    actual = sum(reached.values())
    total = projected(actual, elapsed) if elapsed else 0.0
    count = 0
    for n, start in enumerate(days):
        end = days[n + 1] if n + 1 < len(days) else period.end
        count += reached.get(start.date(), 0)
        actual_series.append(count if start <= today else None)
        share = (end - period.start) / (period.end - period.start)
        pace_series.append(round(target * share, 1))
        if start <= today < end:
            projection_series.append(count)
        elif start > today:
            projection_series.append(round(total * share, 1))
        else:
            projection_series.append(None)
    chart = {
        "labels": [day_label(d) for d in days],
        "actual": actual_series,
        "pace": pace_series,
        "projection": projection_series,
        "target": [target] * len(days),
        "unit": f"{commitment.stage.upper()}s",
    }
    return QuotaPace(
        commitment,
        period.start,
        period.end,
        target,
        actual,
        round(total, 1),
        elapsed,
        chart,
        result,
    )
