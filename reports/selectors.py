"""Reads for the reports: which agreements a user may see, and the report filter."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet

from agreements import access
from agreements.models import Agreement
from reports import rollups
from reports.metrics import ReportFilter, StageRates


def agreements_visible_to(user) -> QuerySet[Agreement]:
    """Agreements whose figures the user may read (`agreements.access`): of his own teams,
    with both sides visible to him (in force, or both teams his); staff see all."""
    return access.agreements_with_data_visible_to(user)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def report_filter(
    user,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    agreement: Agreement | None = None,
    team_id: int | None = None,
    rep_id: int | None = None,
    tier: str = "",
    lead_source: str = "",
    default_days: int = 90,
) -> ReportFilter:
    """The report filter for `user`: only agreements he may see. Dates are local days in
    the agreement calendar's time zone (the first visible agreement's, else TIME_ZONE);
    `end` is inclusive; by default the last `default_days` days up to today."""
    agreements = agreements_visible_to(user)
    if agreement is not None:
        agreements = agreements.filter(pk=agreement.pk)
    if team_id:
        agreements = agreements.filter(Q(marketing_team_id=team_id) | Q(sales_team_id=team_id))
    pairs = list(agreements.order_by("pk").values_list("pk", "sales_team_id", "calendar__timezone"))
    return _filter(
        pairs,
        now=now,
        start=start,
        end=end,
        default_days=default_days,
        rep_id=rep_id,
        tier=tier,
        lead_source=lead_source,
    )


def agreements_filter(
    agreements: list[Agreement],
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    rep_id: int | None = None,
) -> ReportFilter:
    """The report filter over these agreements (no visibility check: the caller chose them),
    built exactly as `report_filter` builds it: so a home page, the scorecard and the review
    pack read the same figures as the report pages for the same range."""
    pairs = sorted((a.pk, a.sales_team_id, a.calendar.timezone) for a in agreements)
    return _filter(pairs, now=now, start=start, end=end, rep_id=rep_id)


def agreements_tz(agreements: list[Agreement]) -> ZoneInfo:
    """The time zone a report over these agreements is cut in: the first one's calendar
    (by id), else TIME_ZONE."""
    first = min(agreements, key=lambda a: a.pk, default=None)
    return ZoneInfo(first.calendar.timezone if first else settings.TIME_ZONE)


def _filter(
    pairs: list[tuple[int, int, str]],
    *,
    now: datetime,
    start: date | None,
    end: date | None,
    default_days: int = 90,
    rep_id: int | None = None,
    tier: str = "",
    lead_source: str = "",
) -> ReportFilter:
    tz = ZoneInfo(pairs[0][2] if pairs else settings.TIME_ZONE)
    today = now.astimezone(tz).date()
    end = end or today
    start = start or end - timedelta(days=default_days - 1)
    sales_team_ids = tuple(sorted({p[1] for p in pairs}))
    rolled_until, funnel_rolled = rollups.coverage(sales_team_ids, tz)
    return ReportFilter(
        start=local_midnight(start, tz),
        end=local_midnight(end + timedelta(days=1), tz),
        now=now,
        agreement_ids=tuple(p[0] for p in pairs),
        sales_team_ids=sales_team_ids,
        tz=tz,
        rep_id=rep_id,
        tier=tier,
        lead_source=lead_source,
        rolled_until=rolled_until,
        funnel_rolled=funnel_rolled,
    )


QUOTA_HISTORY_MONTHS = 3


def quota_history(agreement: Agreement, *, now: datetime) -> tuple[date, date, StageRates]:
    """The stage conversions the quota calculator starts from: the funnel cohort of the
    last `QUOTA_HISTORY_MONTHS` full calendar months before the one holding `now` (in the
    agreement calendar's time zone), followed up to `now`. Returns (first day, last day,
    `metrics.StageRates`)."""
    from agreements.periods import period_containing
    from reports import metrics

    tz = ZoneInfo(agreement.calendar.timezone)
    month = period_containing("month", now, tz)
    last_day = month.start.date() - timedelta(days=1)
    first = month
    for _ in range(QUOTA_HISTORY_MONTHS):
        first = first.previous()
    f = agreements_filter([agreement], now=now, start=first.start.date(), end=last_day)
    with metrics.report_reads():
        rates = metrics.stage_rates(f)
    return first.start.date(), last_day, rates
