"""The one definition of every report figure (see docs/metrics.md for the rules in words).

Pages, the API, CSV exports and emails all call these functions; nothing else computes a
report number. Every figure is aggregated in the database (a few queries per report, never a
Python loop over leads); `leads_behind` gives the leads behind any figure, filtered the same way.
Closed days and the funnel's per-lead facts are read from the rollups the checks keep
(`reports.refresh` fills them with the live queries below, grouped finer; see docs/metrics.md).

Conventions
- A report covers [start, end) and is judged at `now` (an input, like everywhere else).
- A lead clock (obligation) belongs to the range its `due_at` falls in. It is *decided* when
  met, breached, or still open past its due time at `now` (overdue: missed, even before the
  deadline scan records the breach). Open clocks not yet due and cancelled clocks do not count.
- Rep attribution is the obligation's user: whoever owned the lead when the clock was met or
  fell due (reassigning moves open clocks, breaches stay with the owner at due time).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, TruncDate

from agreements.models import Agreement, Commitment
from agreements.periods import Period, acceptance_pct, period_containing
from leads.models import FUNNEL, Activity, Lead, Obligation, StageEvent, stages_at_or_beyond
from leads.selectors import dispositions, leads_reaching_stage
from reports import rollups
from reports.models import FunnelLead, StaleLead

Kind = Commitment.Kind
Status = Obligation.Status
SALES_KINDS = (Kind.FIRST_TOUCH, Kind.FOLLOW_UP, Kind.DISPOSITION)
GRAINS = ("week", "month")
FUNNEL_GROUPS = ("campaign", "lead_source")

# Time to first touch: fixed histogram buckets, (key, label, lower bound, upper bound).
TTFT_BUCKETS: list[tuple[str, str, timedelta, timedelta | None]] = [
    ("lt5m", "under 5 min", timedelta(0), timedelta(minutes=5)),
    ("5_15m", "5–15 min", timedelta(minutes=5), timedelta(minutes=15)),
    ("15_60m", "15–60 min", timedelta(minutes=15), timedelta(hours=1)),
    ("1_4h", "1–4 h", timedelta(hours=1), timedelta(hours=4)),
    ("4_24h", "4–24 h", timedelta(hours=4), timedelta(hours=24)),
    ("1_3d", "1–3 days", timedelta(hours=24), timedelta(days=3)),
    ("gt3d", "over 3 days", timedelta(days=3), None),
]
UNTOUCHED = "untouched"


# Database session -------------------------------------------------------------------------


@contextmanager
def report_reads() -> Iterator[None]:
    """Run report queries in one read transaction with PostgreSQL's JIT compiler off and a
    larger work_mem for the hash aggregates (SET LOCAL: this transaction only). The planner's
    row estimates for correlated lookups are far too high, so JIT compiled the report
    queries for seconds that they then ran in milliseconds (see docs/metrics.md)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '128MB'")
        yield


# Filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers. Build it with `reports.selectors.report_filter` (visibility)."""

    start: datetime
    end: datetime
    now: datetime
    agreement_ids: tuple[int, ...]
    sales_team_ids: tuple[int, ...]
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    rep_id: int | None = None
    tier: str = ""
    lead_source: str = ""
    # Rollups (reports.rollups.coverage): closed local days up to `rolled_until` are read
    # from the daily rollups, the funnel from the per-lead facts; None/False: all live.
    rolled_until: date | None = None
    funnel_rolled: bool = False

    def lookups(self, *, rep: str, tier: str = "tier", lead_source: str = "lead_source") -> dict:
        """The rep, tier and lead-source filters that are set, as lookups on these columns
        (the rep is a clock's user, a lead's owner, … depending on what is counted)."""
        chosen = ((rep, self.rep_id), (tier, self.tier), (lead_source, self.lead_source))
        return {column: value for column, value in chosen if value}

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        """The last local day covered (the range ends at its midnight)."""
        return (self.end.astimezone(self.tz) - timedelta(microseconds=1)).date()


def pct(part: int, whole: int) -> float | None:
    """Percentage with one decimal; None when there is nothing to judge."""
    return None if not whole else round(100.0 * part / whole, 1)


def _leads(f: ReportFilter) -> QuerySet[Lead]:
    return Lead.objects.filter(sales_team_id__in=f.sales_team_ids, **f.lookups(rep="owner_id"))


def _decided(f: ReportFilter) -> Q:
    return Q(status__in=(Status.MET, Status.BREACHED)) | Q(status=Status.OPEN, due_at__lte=f.now)


def _missed(f: ReportFilter) -> Q:
    return Q(status=Status.BREACHED) | Q(status=Status.OPEN, due_at__lte=f.now)


def lead_clocks(f: ReportFilter, kinds=SALES_KINDS) -> QuerySet[Obligation]:
    """Lead clocks of these kinds due in the range (decided or not), filtered."""
    return Obligation.objects.filter(
        # A lead clock's team is its agreement's sales team: said twice, so that the
        # (team, kind, due_at) index serves the range.
        team_id__in=f.sales_team_ids,
        kind__in=kinds,
        lead__isnull=False,
        agreement_version__agreement_id__in=f.agreement_ids,
        due_at__gte=f.start,
        due_at__lt=f.end,
        **f.lookups(rep="user_id", tier="lead__tier", lead_source="lead__lead_source"),
    )


def _touched_after(strict: bool) -> Exists:
    lookup = "occurred_at__gt" if strict else "occurred_at__gte"
    return Exists(
        Activity.objects.filter(lead_id=OuterRef("lead_id"), **{lookup: OuterRef("starts_at")})
    )


# Sales compliance -------------------------------------------------------------------------


@dataclass
class ClockCompliance:
    """Met share of the decided clocks of one kind (first touch, follow-up, disposition)."""

    kind: str
    decided: int = 0
    met: int = 0
    made: int = 0  # follow-up only: attempts made at all (in time or late)

    @property
    def missed(self) -> int:
        return self.decided - self.met

    @property
    def pct(self) -> float | None:
        return pct(self.met, self.decided)

    @property
    def made_pct(self) -> float | None:
        return pct(self.made, self.decided)


@dataclass
class DayCounts:
    """Clock and disposition counts per local day of the range: the totals and the weekly and
    monthly trends are added up from these (days, not leads), so one query serves all three."""

    clocks: dict[tuple[date, str], ClockCompliance]
    dispositions: dict[date, tuple[int, int]]  # (accepted, rejected)
    ttft: TtftSummary | None = None


# Group columns the rollups keep, as the live querysets name them (`user_id` is a column).
CLOCK_DIMENSIONS = {
    "agreement_id": F("agreement_version__agreement_id"),
    "order": F("commitment__order"),
    "tier": F("lead__tier"),
    "lead_source": F("lead__lead_source"),
}
DISPOSITION_DIMENSIONS = {
    "team_id": F("lead__sales_team_id"),
    "owner_id": F("lead__owner_id"),
    "tier": F("lead__tier"),
    "lead_source": F("lead__lead_source"),
    "reason": F("note"),
}


def clock_rows(f: ReportFilter, by: tuple[str, ...] = ()) -> QuerySet:
    """Decided, met and made counts of the lead clocks by local day of their due time,
    kind and the columns `by` (live tables; one query). The rule of every clock figure."""
    decided = _decided(f)
    return (
        lead_clocks(f)
        .annotate(
            touched_after=_touched_after(strict=True),
            day=TruncDate("due_at", tzinfo=f.tz),
            **{name: CLOCK_DIMENSIONS[name] for name in by if name in CLOCK_DIMENSIONS},
        )
        .values("day", "kind", *by)
        .annotate(
            decided=Count("id", filter=decided),
            met=Count("id", filter=Q(status=Status.MET)),
            made=Count("id", filter=decided & Q(kind=Kind.FOLLOW_UP, touched_after=True)),
        )
        .order_by()
    )


def disposition_rows(f: ReportFilter, by: tuple[str, ...] = ()) -> QuerySet:
    """Accepted and rejected counts by local day they happened and the columns `by` (live
    tables; one query). The rule of every disposition figure."""
    return (
        _dispositions(f)
        .annotate(
            day=TruncDate("occurred_at", tzinfo=f.tz),
            **{name: DISPOSITION_DIMENSIONS[name] for name in by},
        )
        .values("day", *by)
        .annotate(
            accepted=Count("id", filter=Q(to_stage="sal")),
            rejected=Count("id", filter=Q(to_stage="rejected")),
        )
        .order_by()
    )


def rolled_through(f: ReportFilter) -> date | None:
    """The last day of the range read from the rollups (None: all live)."""
    return _split(f)[0]


def _split(f: ReportFilter) -> tuple[date | None, ReportFilter | None]:
    """(the last day to read from the rollups or None, the filter of the rest to read live
    or None). Only closed days are rolled up; today and later are always live."""
    if f.rolled_until is None:
        return None, f
    # A day is read from the rollup only if it had closed at `now` too.
    through = min(f.rolled_until, f.now.astimezone(f.tz).date() - timedelta(days=1))
    if through < f.first_day:
        return None, f
    if through >= f.last_day:
        return f.last_day, None
    day = through + timedelta(days=1)
    return through, replace(f, start=datetime(day.year, day.month, day.day, tzinfo=f.tz))


def _day_rows(f: ReportFilter, by: tuple[str, ...], rolled, live_rows) -> list[dict]:
    """Day rows of the closed days from the rollup (`rolled`), of the rest live
    (`live_rows`): a query each."""
    through, live = _split(f)
    rows: list[dict] = []
    if through is not None:
        rows += rolled(f, through, by)
    if live is not None:
        rows += live_rows(live, by)
    return rows


def clock_days(f: ReportFilter, by: tuple[str, ...] = ()) -> dict[tuple, ClockCompliance]:
    """Lead clocks by local day of their due time, kind (and `by`)."""
    result: dict[tuple, ClockCompliance] = {}
    for r in _day_rows(f, by, rollups.clock_day_rows, clock_rows):
        key = (r["day"], r["kind"], *(r[name] for name in by))
        _add(
            result.setdefault(key, ClockCompliance(r["kind"])),
            ClockCompliance(r["kind"], r["decided"], r["met"], r["made"]),
        )
    return result


def disposition_counts(f: ReportFilter, by: tuple[str, ...] = ()) -> dict[tuple, list[int]]:
    """[accepted, rejected] by local day (and `by`)."""
    result: dict[tuple, list[int]] = {}
    for r in _day_rows(f, by, rollups.disposition_day_rows, disposition_rows):
        counts = result.setdefault((r["day"], *(r[name] for name in by)), [0, 0])
        counts[0] += r["accepted"]
        counts[1] += r["rejected"]
    return result


def disposition_days(f: ReportFilter) -> dict[date, tuple[int, int]]:
    """(accepted, rejected) by local day they happened."""
    return {day: (a, r) for (day,), (a, r) in disposition_counts(f).items()}


def day_counts(f: ReportFilter) -> DayCounts:
    """Three queries: lead clocks by day of their due time and kind, dispositions by day,
    and time to first touch over the range, per week and per month."""
    return DayCounts(clock_days(f), disposition_days(f), ttft_summary(f))


def _add(total: ClockCompliance, more: ClockCompliance) -> None:
    total.decided += more.decided
    total.met += more.met
    total.made += more.made


def sales_compliance(f: ReportFilter, days: DayCounts | None = None) -> dict[str, ClockCompliance]:
    """First-touch, follow-up and disposition compliance over the range."""
    clocks = days.clocks if days else clock_days(f)
    result = {kind: ClockCompliance(kind) for kind in SALES_KINDS}
    for (_, kind), counts in clocks.items():
        _add(result[kind], counts)
    return result


# Time to first touch ----------------------------------------------------------------------


class EpochSeconds(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


def percentile(values: list[float], fraction: float) -> float | None:
    """percentile_cont in Python (linear interpolation), for databases without it."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _first_touch_clocks(f: ReportFilter) -> QuerySet[Obligation]:
    """Decided first-touch clocks with the time of the lead's first touch since hand-off."""
    first = (
        Activity.objects.filter(lead_id=OuterRef("lead_id"), occurred_at__gte=OuterRef("starts_at"))
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return (
        lead_clocks(f, kinds=[Kind.FIRST_TOUCH])
        .filter(_decided(f))
        # A met clock was met by the first touch (its time is met_at); only the others
        # look the touch up (COALESCE evaluates the subquery only when met_at is empty).
        .annotate(first_touch=Coalesce("met_at", Subquery(first)))
        .annotate(
            ttft=ExpressionWrapper(F("first_touch") - F("starts_at"), output_field=DurationField())
        )
    )


def _bucket_q(lower: timedelta, upper: timedelta | None) -> Q:
    q = Q(ttft__gte=lower)
    return q & Q(ttft__lt=upper) if upper is not None else q


@dataclass
class TimeToFirstTouch:
    clocks: int = 0
    touched: int = 0
    median_minutes: float | None = None
    p90_minutes: float | None = None
    histogram: list[tuple[str, str, int]] = field(default_factory=list)  # key, label, count

    @property
    def untouched(self) -> int:
        return self.clocks - self.touched


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 1)


def first_touch_delays(f: ReportFilter) -> QuerySet[Obligation]:
    """The decided first-touch clocks of the range with their local due day and delay to the
    first touch (`ttft`, null when never touched): the rows every time-to-first-touch figure
    is ranked from, live. The rollup keeps the same delays per day, in seconds."""
    return _first_touch_clocks(f).annotate(day=TruncDate("due_at", tzinfo=f.tz))


def _ttft_values_sql(f: ReportFilter) -> tuple[str, list]:
    """SQL of (day, s): one row per decided first-touch clock, `s` its delay in seconds or
    null; closed days from the rollup, the rest live (PostgreSQL)."""
    through, live = _split(f)
    parts, params = [], []
    try:
        if through is not None:
            sql, more = rollups.ttft_values_sql(f, through)
            parts.append(sql)
            params += more
        if live is not None:
            delays = first_touch_delays(live).values("day", "ttft").order_by()
            inner, more = delays.query.sql_with_params()
            parts.append(f"SELECT day, EXTRACT(EPOCH FROM ttft)::float AS s FROM ({inner}) l")
            params += more
    except EmptyResultSet:  # nothing can match (no visible agreement)
        return "SELECT NULL::date AS day, NULL::float AS s WHERE false", []
    return " UNION ALL ".join(parts), params


@dataclass
class TtftSummary:
    """Time to first touch over the range, and its median per week and per month."""

    overall: TimeToFirstTouch
    medians: dict[str, dict[date, float | None]]  # grain → period start → median seconds


def _ttft_of(row: dict) -> TimeToFirstTouch:
    histogram = [(key, label, row[key] or 0) for key, label, _, _ in TTFT_BUCKETS]
    histogram.append((UNTOUCHED, "not touched", row["clocks"] - row["touched"]))
    return TimeToFirstTouch(
        clocks=row["clocks"],
        touched=row["touched"],
        median_minutes=_minutes(row["median"]),
        p90_minutes=_minutes(row["p90"]),
        histogram=histogram,
    )


def _ttft_summary_postgres(f: ReportFilter) -> TtftSummary:
    """One pass over the delays: counted per bucket and ranked with percentile_cont over
    the range, each week and each month (GROUPING SETS)."""
    values_sql, params = _ttft_values_sql(f)
    qn = connection.ops.quote_name
    buckets, bucket_params = [], []
    for key, _, lo, hi in TTFT_BUCKETS:
        upper = " AND s < %s" if hi is not None else ""
        buckets.append(f"SUM(CASE WHEN s >= %s{upper} THEN 1 ELSE 0 END) AS {qn(key)}")
        bucket_params += [b.total_seconds() for b in ((lo, hi) if hi is not None else (lo,))]
    sql = f"""
        SELECT GROUPING(week, month) AS grouping, week, month,
            COUNT(*) AS clocks, COUNT(s) AS touched, {", ".join(buckets)},
            percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY s) AS percentiles
        FROM (
            SELECT date_trunc('week', day::timestamp)::date AS week,
                date_trunc('month', day::timestamp)::date AS month, s
            FROM ({values_sql}) delays
        ) d
        GROUP BY GROUPING SETS ((), (week), (month))
    """
    medians: dict[str, dict[date, float | None]] = {"week": {}, "month": {}}
    overall = None
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bucket_params, *params])
        names = [c[0] for c in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            median, p90 = row["percentiles"] or (None, None)
            if row["grouping"] == 3:  # neither week nor month: the whole range
                overall = _ttft_of({**row, "median": median, "p90": p90})
            elif row["grouping"] == 1:  # by week
                medians["week"][row["week"]] = median
            else:
                medians["month"][row["month"]] = median
    return TtftSummary(overall, medians)


def _ttft_summary_portable(f: ReportFilter) -> TtftSummary:
    """Fallback for databases without percentile_cont (SQLite, development only; no
    rollups there): fetch the delays and rank them here."""
    delays = list(first_touch_delays(f).values_list("day", "ttft"))
    touched = [(day, d.total_seconds()) for day, d in delays if d is not None]
    row: dict = {"clocks": len(delays), "touched": len(touched)}
    for key, _, lo, hi in TTFT_BUCKETS:
        lo_s, hi_s = lo.total_seconds(), hi.total_seconds() if hi is not None else None
        row[key] = sum(1 for _, s in touched if s >= lo_s and (hi_s is None or s < hi_s))
    seconds = [s for _, s in touched]
    row["median"], row["p90"] = percentile(seconds, 0.5), percentile(seconds, 0.9)
    medians: dict[str, dict[date, float | None]] = {}
    for grain in GRAINS:
        by_bucket: dict[date, list[float]] = {}
        for day, s in touched:
            by_bucket.setdefault(_bucket_of(grain, day, f.tz), []).append(s)
        medians[grain] = {key: percentile(values, 0.5) for key, values in by_bucket.items()}
    return TtftSummary(_ttft_of(row), medians)


def ttft_summary(f: ReportFilter) -> TtftSummary:
    """Elapsed real time from hand-off to the first touch, over the decided first-touch clocks
    of the range: median, p90 and a fixed histogram, and the median per week and month
    (one query on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return _ttft_summary_postgres(f)
    return _ttft_summary_portable(f)


def time_to_first_touch(f: ReportFilter, days: DayCounts | None = None) -> TimeToFirstTouch:
    """`ttft_summary` over the range (median, p90, histogram)."""
    return (days.ttft if days and days.ttft else ttft_summary(f)).overall


# Marketing: acceptance and rejection reasons ----------------------------------------------


def _dispositions(f: ReportFilter) -> QuerySet[StageEvent]:
    return dispositions(_leads(f), f.start, f.end)


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


def acceptance(f: ReportFilter, days: DayCounts | None = None) -> Acceptance:
    dispositions = days.dispositions if days else disposition_days(f)
    accepted = sum(a for a, _ in dispositions.values())
    rejected = sum(r for _, r in dispositions.values())
    floor, sample = _quality_terms(f)
    return Acceptance(accepted, rejected, floor, sample)


NO_REASON = "(no reason given)"


def rejection_reasons(f: ReportFilter) -> list[tuple[str, int, float | None]]:
    """(reason, rejections, share %) most frequent first; the reason is the one recorded
    with the rejection."""
    counts: dict[str, int] = {}
    for (_, reason), (_, rejected) in disposition_counts(f, by=("reason",)).items():
        if rejected:
            counts[reason] = counts.get(reason, 0) + rejected
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
    status: str  # met, missed, running
    at_risk: bool = False
    order: int = 0

    @property
    def attainment_pct(self) -> float | None:
        if self.kind != Kind.LEAD_VOLUME or not self.target or self.actual is None:
            return None
        return pct(self.actual, self.target)


def period_results(f: ReportFilter, kinds=(Kind.LEAD_VOLUME,)) -> list[PeriodResult]:
    """The agreements' quota periods overlapping the range, oldest first. A closed period
    shows what the quota evaluation recorded; a running one is counted live (one query each)
    from `leads_reaching_stage`, the quota check's own selector. Agreement-level: rep, tier
    and lead-source filters do not apply (the target is the agreement's)."""
    rows = (
        Obligation.objects.filter(
            lead__isnull=True,
            kind__in=kinds,
            agreement_version__agreement_id__in=f.agreement_ids,
            period_start__lt=f.end,
            due_at__gt=f.start,
        )
        .select_related("commitment", "agreement_version__agreement")
        .order_by("period_start", "kind", "commitment__order", "id")
    )
    results = []
    for o in rows:  # periods, not leads: a handful per agreement and range
        agreement = o.agreement_version.agreement
        actual, sample = o.actual, o.sample
        if o.status == Status.OPEN:
            status = "running"
            if o.kind == Kind.LEAD_VOLUME:
                actual = leads_reaching_stage(
                    agreement, o.commitment.stage, o.period_start, o.due_at
                ).count()
        else:
            status = "met" if o.status == Status.MET else "missed"
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
            )
        )
    return results


# Trends -----------------------------------------------------------------------------------


def buckets(f: ReportFilter, grain: str) -> list[date]:
    """Local start dates of the weeks or months the range touches."""
    if grain not in GRAINS:
        raise ValueError(f"Unknown grain {grain!r}.")
    keys: list[date] = []
    period = period_containing(grain, f.start, f.tz)
    while period.start < f.end:
        keys.append(period.start.date())
        period = period.next()
    return keys


@dataclass
class TrendPoint:
    start: date
    first_touch: ClockCompliance
    follow_up: ClockCompliance
    disposition: ClockCompliance
    ttft_median_minutes: float | None
    acceptance: Acceptance


def _bucket_of(grain: str, day: date, tz: ZoneInfo) -> date:
    return period_containing(
        grain, datetime(day.year, day.month, day.day, tzinfo=tz), tz
    ).start.date()


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
    return result


def trend(f: ReportFilter, grain: str, days: DayCounts | None = None) -> list[TrendPoint]:
    """Each compliance figure per week or month (local, Monday weeks): the day counts added
    up per bucket, and the median time to first touch per bucket (one query)."""
    days = days or day_counts(f)
    keys = buckets(f, grain)
    points = {
        k: TrendPoint(k, *(ClockCompliance(kind) for kind in SALES_KINDS), None, Acceptance())
        for k in keys
    }

    for (day, kind), counts in days.clocks.items():
        point = points.get(_bucket_of(grain, day, f.tz))
        if point is not None:
            _add(getattr(point, kind), counts)
    for key, accepted in acceptance_trend(f, grain, days.dispositions).items():
        points[key].acceptance = accepted
    summary = days.ttft or ttft_summary(f)
    for key, seconds in summary.medians[grain].items():
        if key in points:
            points[key].ttft_median_minutes = _minutes(seconds)
    return [points[k] for k in keys]


# Closed-loop funnel -----------------------------------------------------------------------

FUNNEL_STEPS = list(FUNNEL)  # mql, sal, sql, opportunity, won


def _reached(stage: str) -> Exists:
    return Exists(
        StageEvent.objects.filter(lead_id=OuterRef("pk"), to_stage__in=stages_at_or_beyond(stage))
    )


def _ever(stage: str) -> Exists:
    return Exists(StageEvent.objects.filter(lead_id=OuterRef("pk"), to_stage=stage))


def _funnel_candidates(f: ReportFilter) -> QuerySet[Lead]:
    """Leads with a funnel event in the range (served by the stage-event index): the only
    ones that can have entered the funnel in it."""
    events = StageEvent.objects.filter(
        to_stage__in=FUNNEL, occurred_at__gte=f.start, occurred_at__lt=f.end
    )
    return _leads(f).filter(pk__in=events.values("lead_id"))


def funnel_leads(f: ReportFilter) -> QuerySet[Lead]:
    """The funnel cohort: leads that entered the funnel (first reached MQL or a later stage)
    in the range, annotated with the stages they reached since (up to now) and whether their
    first-touch clocks were kept."""
    entered = (
        StageEvent.objects.filter(lead_id=OuterRef("pk"), to_stage__in=FUNNEL)
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    first_touch = Obligation.objects.filter(lead_id=OuterRef("pk"), kind=Kind.FIRST_TOUCH)
    return (
        _funnel_candidates(f)
        .annotate(entered_at=Subquery(entered))
        .filter(entered_at__gte=f.start, entered_at__lt=f.end)
        .annotate(
            **{f"r_{stage}": _reached(stage) for stage in FUNNEL_STEPS},
            r_recycled=_ever("recycled"),
            r_rejected=_ever("rejected"),
            ft_met=Exists(first_touch.filter(status=Status.MET)),
            ft_missed=Exists(first_touch.filter(_missed(f))),
        )
    )


SLA_KEPT = Q(ft_met=True, ft_missed=False)
SLA_MISSED = Q(ft_missed=True)


@dataclass
class FunnelRow:
    group: str
    counts: dict[str, int]  # mql … won, recycled, rejected, sla_kept, sla_missed, …

    @property
    def conversions(self) -> dict[str, float | None]:
        """Step rates: sal = SAL/MQL, sql = SQL/SAL, … and overall won/MQL."""
        c = self.counts
        rates = {step: pct(c[step], c[prev]) for prev, step in pairwise(FUNNEL_STEPS)}
        rates["overall"] = pct(c["won"], c["mql"])
        return rates

    @property
    def sla_pct(self) -> float | None:
        return pct(self.counts["sla_kept"], self.counts["sla_kept"] + self.counts["sla_missed"])

    @property
    def kept_to_sql_pct(self) -> float | None:
        return pct(self.counts["sla_kept_sql"], self.counts["sla_kept"])

    @property
    def missed_to_sql_pct(self) -> float | None:
        return pct(self.counts["sla_missed_sql"], self.counts["sla_missed"])

    @property
    def kept_to_won_pct(self) -> float | None:
        return pct(self.counts["sla_kept_won"], self.counts["sla_kept"])

    @property
    def missed_to_won_pct(self) -> float | None:
        return pct(self.counts["sla_missed_won"], self.counts["sla_missed"])


def _in(stages) -> str:
    return "(" + ", ".join(f"'{s}'" for s in stages) + ")"  # fixed stage names, not input


FACT_COLUMNS = ("sales_team_id", "owner_id", "tier", "lead_source", "campaign")
FACT_FLAGS = tuple(f"r_{stage}" for stage in FUNNEL_STEPS[1:]) + (
    "r_recycled",
    "r_rejected",
    "ft_met",
    "ft_breached",
)


def funnel_facts_sql(candidates: QuerySet[Lead]) -> tuple[str, list]:
    """Per lead of `candidates` that has entered the funnel: the lead's columns, when it
    entered, the stages it reached (1/0), and its first-touch clocks (met, breached, earliest
    open due time). Grouped joins (hash aggregates), not a correlated subquery per lead and
    measure. The funnel is counted from these facts, live here or from `FunnelLead`, which
    `reports.refresh` fills with this very statement."""
    cand = candidates.order_by().values("id", *FACT_COLUMNS)
    cand_sql, cand_params = cand.query.sql_with_params()
    qn = connection.ops.quote_name
    reached = ",\n".join(
        f"MAX(CASE WHEN to_stage IN {_in(stages_at_or_beyond(s))} THEN 1 ELSE 0 END) AS r_{s}"
        for s in FUNNEL_STEPS[1:]
    )
    columns = "".join(f"c.{qn(column)} AS {qn(column)}, " for column in FACT_COLUMNS)
    sql = f"""
        WITH cand AS ({cand_sql})
        SELECT c.id AS lead_id, {columns}e.entered AS entered_at,
            {", ".join(f"e.r_{s}" for s in FUNNEL_STEPS[1:])}, e.r_recycled, e.r_rejected,
            COALESCE(o.ft_met, 0) AS ft_met, COALESCE(o.ft_breached, 0) AS ft_breached,
            o.ft_open_due AS ft_open_due
        FROM cand c
        JOIN (
            SELECT lead_id,
                MIN(CASE WHEN to_stage IN {_in(FUNNEL)} THEN occurred_at END) AS entered,
                {reached},
                MAX(CASE WHEN to_stage = 'recycled' THEN 1 ELSE 0 END) AS r_recycled,
                MAX(CASE WHEN to_stage = 'rejected' THEN 1 ELSE 0 END) AS r_rejected
            FROM {qn(StageEvent._meta.db_table)}
            WHERE lead_id IN (SELECT id FROM cand)
            GROUP BY lead_id
        ) e ON e.lead_id = c.id
        LEFT JOIN (
            SELECT lead_id,
                MAX(CASE WHEN status = 'met' THEN 1 ELSE 0 END) AS ft_met,
                MAX(CASE WHEN status = 'breached' THEN 1 ELSE 0 END) AS ft_breached,
                MIN(CASE WHEN status = 'open' THEN due_at END) AS ft_open_due
            FROM {qn(Obligation._meta.db_table)}
            WHERE kind = 'first_touch' AND lead_id IN (SELECT id FROM cand)
            GROUP BY lead_id
        ) o ON o.lead_id = c.id
        WHERE e.entered IS NOT NULL
    """
    return sql, list(cand_params)


_KEPT = "ft_met = 1 AND ft_missed = 0"
_MISSED = "ft_missed = 1"
_FUNNEL_MEASURES_SQL = [
    *((stage, f"r_{stage} = 1") for stage in FUNNEL_STEPS[1:]),
    ("recycled", "r_recycled = 1"),
    ("rejected", "r_rejected = 1"),
    ("sla_kept", _KEPT),
    ("sla_missed", _MISSED),
    ("sla_kept_sql", f"{_KEPT} AND r_sql = 1"),
    ("sla_missed_sql", f"{_MISSED} AND r_sql = 1"),
    ("sla_kept_won", f"{_KEPT} AND r_won = 1"),
    ("sla_missed_won", f"{_MISSED} AND r_won = 1"),
]


def _cohort_facts_sql(f: ReportFilter) -> tuple[str, list]:
    """The facts of the cohort: live, or from the rollup with the leads changed since its
    last refresh read live (so the answer is as current as the live tables)."""
    adapt = connection.ops.adapt_datetimefield_value
    window = [adapt(f.start), adapt(f.end)]
    candidates = _funnel_candidates(f)
    if not f.funnel_rolled:
        sql, params = funnel_facts_sql(candidates)
        return f"SELECT * FROM ({sql}) live WHERE entered_at >= %s AND entered_at < %s", [
            *params,
            *window,
        ]
    stale = StaleLead.objects.values("lead_id")
    live_sql, live_params = funnel_facts_sql(candidates.filter(pk__in=stale))
    qn = connection.ops.quote_name
    where = [
        "r.team_id = ANY(%s)",
        "r.entered_at >= %s",
        "r.entered_at < %s",
        f"NOT EXISTS (SELECT 1 FROM {qn(StaleLead._meta.db_table)} s WHERE s.lead_id = r.lead_id)",
    ]
    rolled_params: list = [list(f.sales_team_ids), *window]
    for column, value in f.lookups(rep="owner_id").items():
        where.append(f"r.{column} = %s")
        rolled_params.append(value)
    # Booleans as 1/0, the live facts' shape.
    flags = ", ".join(f"r.{name}::int" for name in FACT_FLAGS)
    sql = f"""
        SELECT lead_id, {", ".join(FACT_COLUMNS)}, entered_at, {", ".join(FACT_FLAGS)}, ft_open_due
        FROM ({live_sql}) live WHERE entered_at >= %s AND entered_at < %s
        UNION ALL
        SELECT r.lead_id, r.team_id, {", ".join(f"r.{c}" for c in FACT_COLUMNS[1:])},
            r.entered_at, {flags}, r.ft_open_due
        FROM {qn(FunnelLead._meta.db_table)} r WHERE {" AND ".join(where)}
    """
    return sql, [*live_params, *window, *rolled_params]


def _funnel_counts(f: ReportFilter, columns: tuple[str, ...]) -> list[dict]:
    """The funnel counted in one statement from the cohort's per-lead facts
    (`funnel_facts_sql`), summed per group of `columns`. The same rules as `funnel_leads`:
    a first-touch clock is missed when breached or open past its due time at `now`."""
    try:
        facts_sql, params = _cohort_facts_sql(f)
    except EmptyResultSet:  # nothing can match (no visible agreement)
        return []
    qn = connection.ops.quote_name
    sums = ", ".join(
        f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {qn(name)}"
        for name, cond in _FUNNEL_MEASURES_SQL
    )
    selected = "".join(f"{qn(column)}, " for column in columns)
    sql = f"""
        SELECT {selected}COUNT(*) AS mql, {sums}
        FROM (
            SELECT facts.*, CASE WHEN ft_breached = 1
                OR (ft_open_due IS NOT NULL AND ft_open_due <= %s) THEN 1 ELSE 0 END AS ft_missed
            FROM ({facts_sql}) facts
        ) cohort
    """
    if columns:
        sql += " GROUP BY " + ", ".join(qn(column) for column in columns)
    params = [connection.ops.adapt_datetimefield_value(f.now), *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return [{k: v if k in columns else (v or 0) for k, v in row.items()} for row in rows]


MEASURE_NAMES = ["mql", *(name for name, _ in _FUNNEL_MEASURES_SQL)]


def funnel_all(f: ReportFilter) -> dict[str, tuple[list[FunnelRow], FunnelRow]]:
    """The funnel by campaign and by lead source, with totals, from ONE query grouped by
    (campaign, lead source); the groups (not the leads) are then added up here."""
    cells = _funnel_counts(f, FUNNEL_GROUPS)
    total = dict.fromkeys(MEASURE_NAMES, 0)
    for cell in cells:
        for name in MEASURE_NAMES:
            total[name] += cell[name]
    result = {}
    for by in FUNNEL_GROUPS:
        groups: dict[str, dict[str, int]] = {}
        for cell in cells:
            counts = groups.setdefault(cell[by] or "", dict.fromkeys(MEASURE_NAMES, 0))
            for name in MEASURE_NAMES:
                counts[name] += cell[name]
        rows = [FunnelRow(group, groups[group]) for group in sorted(groups)]
        result[by] = (rows, FunnelRow("Total", dict(total)))
    return result


def funnel(f: ReportFilter, by: str) -> tuple[list[FunnelRow], FunnelRow]:
    """Funnel rows grouped by campaign or lead source, and the total (one query)."""
    if by not in FUNNEL_GROUPS:
        raise ValueError(f"Unknown funnel grouping {by!r}.")
    return funnel_all(f)[by]


# The leads behind a figure ----------------------------------------------------------------

OUTCOMES = ("decided", "met", "missed", "made")
DISPOSITIONS = ("accepted", "rejected")
FUNNEL_MEASURES = (*FUNNEL_STEPS, "recycled", "rejected", "sla_kept", "sla_missed")


def leads_behind(
    f: ReportFilter,
    *,
    metric: str,
    outcome: str = "decided",
    bucket: str = "",
    reason: str = "",
    by: str = "",
    group: str | None = None,
    period_id: int | None = None,
) -> QuerySet[Lead]:
    """The leads behind one figure, filtered exactly as the figure was counted (each lead
    once). Raises ValueError for an unknown combination."""
    if metric in SALES_KINDS:
        clocks = lead_clocks(f, kinds=[metric])
        if outcome == "decided":
            clocks = clocks.filter(_decided(f))
        elif outcome == "met":
            clocks = clocks.filter(status=Status.MET)
        elif outcome == "missed":
            clocks = clocks.filter(_missed(f))
        elif outcome == "made" and metric == Kind.FOLLOW_UP:
            clocks = clocks.filter(_decided(f)).filter(_touched_after(strict=True))
        else:
            raise ValueError(f"Unknown outcome {outcome!r}.")
        return Lead.objects.filter(pk__in=clocks.values("lead_id"))
    if metric == "ttft":
        clocks = _first_touch_clocks(f)
        if bucket == UNTOUCHED:
            clocks = clocks.filter(first_touch__isnull=True)
        elif bucket:
            spec = {key: (lo, hi) for key, _, lo, hi in TTFT_BUCKETS}.get(bucket)
            if spec is None:
                raise ValueError(f"Unknown bucket {bucket!r}.")
            clocks = clocks.filter(_bucket_q(*spec))
        return Lead.objects.filter(pk__in=clocks.values("lead_id"))
    if metric in DISPOSITIONS:
        events = _dispositions(f).filter(to_stage="sal" if metric == "accepted" else "rejected")
        if reason:
            events = events.filter(note="" if reason == NO_REASON else reason)
        return Lead.objects.filter(pk__in=events.values("lead_id"))
    if metric == "volume":
        period = (
            Obligation.objects.filter(
                pk=period_id,
                lead__isnull=True,
                kind=Kind.LEAD_VOLUME,
                agreement_version__agreement_id__in=f.agreement_ids,
            )
            .select_related("commitment", "agreement_version__agreement")
            .first()
        )
        if period is None:
            raise ValueError("Unknown quota period.")
        reached = leads_reaching_stage(
            period.agreement_version.agreement,
            period.commitment.stage,
            period.period_start,
            period.due_at,
        )
        return Lead.objects.filter(pk__in=reached.values("lead_id"))
    if metric == "funnel":
        if outcome not in FUNNEL_MEASURES:
            raise ValueError(f"Unknown funnel measure {outcome!r}.")
        cohort = funnel_leads(f)
        if by:
            if by not in FUNNEL_GROUPS:
                raise ValueError(f"Unknown funnel grouping {by!r}.")
            cohort = cohort.filter(**{by: group or ""})
        if outcome == "sla_kept":
            cohort = cohort.filter(SLA_KEPT)
        elif outcome == "sla_missed":
            cohort = cohort.filter(SLA_MISSED)
        elif outcome != "mql":
            cohort = cohort.filter(**{f"r_{outcome}": True})
        return Lead.objects.filter(pk__in=cohort.values("pk"))
    raise ValueError(f"Unknown metric {metric!r}.")


# Period helpers for the scorecard ---------------------------------------------------------


def recent_periods(kind: str, now: datetime, tz: ZoneInfo, count: int) -> list[Period]:
    """The period holding `now` and the `count - 1` before it, oldest first."""
    period = period_containing(kind, now, tz)
    periods = [period]
    for _ in range(count - 1):
        period = period.previous()
        periods.append(period)
    return list(reversed(periods))


def agreement_tz(agreement: Agreement) -> ZoneInfo:
    return ZoneInfo(agreement.calendar.timezone)


# Scorecard and review pack ----------------------------------------------------------------


def clause_compliance(f: ReportFilter, grain: str) -> dict[tuple[date, str, int], ClockCompliance]:
    """Sales compliance per period and clause (kind and order, the same across versions of
    the agreement), by the same rule as `sales_compliance`: the day counts added up."""
    result: dict[tuple[date, str, int], ClockCompliance] = {}
    for (day, kind, order), counts in clock_days(f, by=("order",)).items():
        key = (_bucket_of(grain, day, f.tz), kind, order)
        _add(result.setdefault(key, ClockCompliance(kind)), counts)
    return result


def breaches_by_cause(f: ReportFilter) -> list[dict]:
    """Breaches of the agreements falling due in the range, by side, kind and where they
    stand (open, acknowledged, disputed, upheld, waived); one query."""
    from leads.models import Breach

    qs = Breach.objects.filter(
        obligation__agreement_version__agreement_id__in=f.agreement_ids,
        due_at__gte=f.start,
        due_at__lt=f.end,
    )
    if f.rep_id:
        qs = qs.filter(user_id=f.rep_id)
    rows = (
        qs.values("side", "kind")
        .annotate(
            total=Count("id"),
            open=Count("id", filter=Q(status="open")),
            acknowledged=Count("id", filter=Q(status="acknowledged")),
            disputed=Count("id", filter=Q(status="disputed")),
            upheld=Count("id", filter=Q(status="resolved", resolution="upheld")),
            waived=Count("id", filter=Q(status="resolved", resolution="waived")),
        )
        .order_by("side", "-total", "kind")
    )
    return list(rows)


def open_disputes(f: ReportFilter):
    """Disputed breaches of the agreements awaiting the other side's decision (any date)."""
    from leads.models import Breach

    return (
        Breach.objects.filter(
            obligation__agreement_version__agreement_id__in=f.agreement_ids,
            status=Breach.Status.DISPUTED,
        )
        .select_related("lead", "team", "user", "disputed_by")
        .order_by("disputed_at", "id")
    )
