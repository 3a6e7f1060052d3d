"""What a report covers (`ReportFilter`), its database session and the calendar cuts
(weeks, months, quota periods) every figure shares. See docs/metrics.md."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from agreements.models import Agreement, Commitment
from agreements.periods import Period, period_containing
from leads.models import Lead, Obligation

Kind = Commitment.Kind
Status = Obligation.Status
SALES_KINDS = (Kind.FIRST_TOUCH, Kind.FOLLOW_UP, Kind.DISPOSITION)
GRAINS = ("week", "month")
FUNNEL_GROUPS = ("campaign", "lead_source")


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


# Calendar cuts -----------------------------------------------------------------------------


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


@lru_cache(maxsize=8192)  # asked for every day row of a trend: a few hundred distinct days
def _bucket_of(grain: str, day: date, tz: ZoneInfo) -> date:
    return period_containing(
        grain, datetime(day.year, day.month, day.day, tzinfo=tz), tz
    ).start.date()


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
