"""Marketing figures: acceptance, rejection reasons and volume attainment per quota period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import connection

from agreements.models import Commitment
from agreements.periods import acceptance_pct
from leads.models import Obligation
from leads.selectors import reaching_stage_per_day_sql
from reports.metrics.filters import Kind, ReportFilter, Status, _bucket_of, buckets, pct
from reports.metrics.source import disposition_counts, disposition_days
from reports.models import ReachDay

if TYPE_CHECKING:
    from reports.metrics.sales import DayCounts


@dataclass
class Acceptance:
    accepted: int = 0
    rejected: int = 0
    floor_pct: int | None = None
    min_sample: int | None = None

    @property
    def dispositioned(self) -> int:
        return self.accepted + self.rejected

    @property
    def pct(self) -> float | None:
        value = acceptance_pct(self.accepted, self.rejected)
        return None if value is None else round(value, 1)

    @property
    def judged(self) -> bool:
        """Enough dispositions to hold marketing to its floor."""
        return self.floor_pct is not None and self.dispositioned >= (self.min_sample or 0)

    @property
    def below_floor(self) -> bool | None:
        if not self.judged or self.pct is None:
            return None
        return self.pct < self.floor_pct


def _quality_terms(f: ReportFilter) -> tuple[int | None, int | None]:
    """The acceptance floor of the first active lead-quality commitment in scope."""
    commitment = (
        Commitment.objects.filter(
            kind=Kind.LEAD_QUALITY,
            version__status="active",
            version__agreement_id__in=f.agreement_ids,
        )
        .order_by("order", "id")
        .first()
    )
    if commitment is None:
        return None, None
    return commitment.min_acceptance_pct, commitment.min_sample


def acceptance(
    f: ReportFilter,
    days: DayCounts | None = None,
    *,
    dispositions: dict[date, tuple[int, int]] | None = None,
) -> Acceptance:
    """Accepted ÷ dispositioned over the range, against the floor in scope; from the day
    counts when given (`days`, or `dispositions` per day), else one query."""
    if dispositions is None:
        dispositions = days.dispositions if days else disposition_days(f)
    accepted = sum(a for a, _ in dispositions.values())
    rejected = sum(r for _, r in dispositions.values())
    floor, sample = _quality_terms(f)
    # Net rejections below zero: only the return of an earlier day's rejection fell here.
    return Acceptance(accepted, max(rejected, 0), floor, sample)


NO_REASON = "(no reason given)"


def rejection_reasons(
    f: ReportFilter, *, by_reason: dict[tuple, list[int]] | None = None
) -> list[tuple[str, int, float | None]]:
    """(reason, rejections, share %) most frequent first; the reason is the one recorded
    with the rejection. `by_reason`: `disposition_counts(f, by=("reason",))` if already read."""
    if by_reason is None:
        by_reason = disposition_counts(f, by=("reason",))
    counts: dict[str, int] = {}
    for (_, reason), (_, rejected) in by_reason.items():
        if rejected:
            counts[reason] = counts.get(reason, 0) + rejected
    counts = {reason: n for reason, n in counts.items() if n > 0}  # net of returns
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(counts.values())
    return [(reason or NO_REASON, n, pct(n, total)) for reason, n in ranked]


# Marketing: volume attainment per period --------------------------------------------------


@dataclass
class PeriodResult:
    """One quota period of a lead-volume commitment: actual against target."""

    obligation_id: int
    agreement_id: int
    agreement: str
    commitment_id: int
    kind: str
    stage: str
    period: str
    start: datetime
    end: datetime
    target: int | None
    actual: int | None
    sample: int | None
    status: str  # running, met, missed, waived, not judged
    at_risk: bool = False
    order: int = 0
    target_reached: bool = False  # a running volume period that has reached its target
    # A running volume period's leads by the local day they first reached the stage (asked for).
    reached_per_day: dict[date, int] | None = None
    clause: UUID | None = None  # the commitment's clause (the same across versions)
    version_number: int = 0  # the version the period was opened under (its terms)

    @property
    def attainment_pct(self) -> float | None:
        if self.kind != Kind.LEAD_VOLUME or not self.target or self.actual is None:
            return None
        return pct(self.actual, self.target)


# How an ended quota period reads: a waived miss counts as neither kept nor missed; a quality
# period with fewer dispositions than its minimum sample is not judged.
PERIOD_OUTCOMES = {
    Status.MET: "met",
    Status.BREACHED: "missed",
    Status.WAIVED: "waived",
    Status.CANCELLED: "not judged",
}


def period_results(
    f: ReportFilter, kinds=(Kind.LEAD_VOLUME,), *, per_day: bool = False
) -> list[PeriodResult]:
    """The agreements' quota periods overlapping the range, oldest first. An ended period
    shows what the quota evaluation recorded at its end; a period still running at `now` is
    counted by `reached_per_day` (the quota check's own rule, `leads_reaching_stage`: its
    closed days from the rollup, today live), even if it has already reached its target: the
    count runs until the period ends. `per_day` keeps a running volume period's counts per
    day (`reached_per_day`, for a pace chart). Agreement-level: rep, tier and lead-source
    filters do not apply (the target is the agreement's)."""
    rows = (
        Obligation.objects.filter(
            lead__isnull=True,
            kind__in=kinds,
            agreement_version__agreement_id__in=f.agreement_ids,
            period_start__lt=f.end,
            due_at__gt=f.start,
        )
        .select_related("commitment", "agreement_version__agreement__calendar")
        .order_by("period_start", "kind", "commitment__order", "id")
    )
    results = []
    for o in rows:  # periods, not leads: a handful per agreement and range
        agreement = o.agreement_version.agreement
        actual, sample, days = o.actual, o.sample, None
        if o.status == Status.OPEN or o.due_at > f.now:
            status = "running"
            if o.kind == Kind.LEAD_VOLUME:
                days = reached_per_day(f, agreement, o.commitment.stage, o.period_start, o.due_at)
                actual = sum(days.values())
        else:
            status = PERIOD_OUTCOMES[o.status]
        results.append(
            PeriodResult(
                obligation_id=o.pk,
                agreement_id=agreement.pk,
                agreement=agreement.name,
                commitment_id=o.commitment_id,
                kind=o.kind,
                stage=o.commitment.stage,
                period=o.commitment.period,
                start=o.period_start.astimezone(f.tz),
                end=o.due_at.astimezone(f.tz),
                target=o.target if o.kind == Kind.LEAD_VOLUME else o.commitment.min_acceptance_pct,
                actual=actual,
                sample=sample,
                status=status,
                at_risk=o.at_risk_at is not None and status == "running",
                order=o.commitment.order,
                target_reached=status == "running" and o.met_at is not None,
                reached_per_day=days if per_day else None,
                clause=o.commitment.clause,
                version_number=o.agreement_version.number,
            )
        )
    return results


def reached_per_day(
    f: ReportFilter, agreement, stage: str, start: datetime, end: datetime
) -> dict[date, int]:
    """The agreement's leads that first reached `stage` (or a later one) in [start, end), by
    the local day (in `f.tz`) they got there: `leads_reaching_stage` counted per day
    (`reaching_stage_per_day_sql`). The closed days come from the rollup (`ReachDay`, when
    its days are these: the same time zone, `start` a midnight), the rest live; a lead first
    reaches a stage at one moment, so the two parts never count it twice. Two queries, or
    one when nothing is rolled up."""
    first_day = start.astimezone(f.tz).date()
    through = None
    if f.rolled_until is not None and agreement.calendar.timezone == str(f.tz):
        through = min(f.rolled_until, f.now.astimezone(f.tz).date() - timedelta(days=1))
    days: dict[date, int] = {}
    live_from = start
    if through is not None and through >= first_day and start == _midnight(first_day, f.tz):
        live_from = min(_midnight(through + timedelta(days=1), f.tz), end)
        rows = ReachDay.objects.filter(
            team_id=agreement.sales_team_id,
            stage=stage,
            day__gte=first_day,
            day__lte=min(through, (end - timedelta(microseconds=1)).astimezone(f.tz).date()),
        ).values_list("day", "leads")
        for day, leads in rows:
            days[day] = days.get(day, 0) + leads
    if live_from < end:
        sql, params = reaching_stage_per_day_sql(agreement, stage, live_from, end, f.tz)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for day, leads in cursor.fetchall():
                days[day] = days.get(day, 0) + leads
    return days


def _midnight(day: date, tz) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


# Trend --------------------------------------------------------------------------------------


def acceptance_trend(
    f: ReportFilter, grain: str, dispositions: dict[date, tuple[int, int]] | None = None
) -> dict[date, Acceptance]:
    """`acceptance` per week or month of the range (one query)."""
    dispositions = disposition_days(f) if dispositions is None else dispositions
    floor, sample = _quality_terms(f)
    result = {k: Acceptance(0, 0, floor, sample) for k in buckets(f, grain)}
    for day, (accepted, rejected) in dispositions.items():
        point = result.get(_bucket_of(grain, day, f.tz))
        if point is not None:
            point.accepted += accepted
            point.rejected += rejected
    for point in result.values():
        point.rejected = max(point.rejected, 0)
    return result
