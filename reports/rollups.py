"""Reading the rollups, and marking leads whose rollup rows must be read again.

The rows are written by `reports.refresh` only; `reports.metrics.source` decides what to read from
here (closed days, funnel facts) and what live. Everything here is PostgreSQL-only: on other
databases (development) `coverage` says "nothing rolled up" and the reports read live.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import QuerySet, Sum

from agreements.models import Commitment
from reports.models import ClockDay, DispositionDay, FirstTouchDay, RollupState, StaleLead
from slahub import pgcopy

if TYPE_CHECKING:
    from reports.metrics.filters import ReportFilter


def enabled() -> bool:
    return connection.vendor == "postgresql"


def mark_stale(lead_ids: Iterable[int | None], *, new: bool = False) -> None:
    """These leads changed (fields, stage history, touches or clocks): their rollup rows are
    rebuilt by the next refresh, and the funnel reads them live until then. Call it in the
    transaction that makes the change, so that the mark commits with it. `new`: the leads
    were created in this transaction, so no mark of theirs can exist yet (ids are never
    reused) and the marks are copied in without a conflict check."""
    ids = sorted({pk for pk in lead_ids if pk is not None})
    if ids and enabled():
        if new:
            pgcopy.insert_ids(StaleLead, "lead_id", ids)
        else:
            marks = [StaleLead(lead_id=pk) for pk in ids]
            StaleLead.objects.bulk_create(marks, ignore_conflicts=True)


def coverage(sales_team_ids: Iterable[int], tz: ZoneInfo) -> tuple[date | None, bool]:
    """(last local day rolled up for all these teams in time zone `tz`, or None; whether
    the funnel facts of all of them are kept). One query."""
    team_ids = set(sales_team_ids)
    if not team_ids or not enabled():
        return None, False
    states = list(
        RollupState.objects.filter(team_id__in=team_ids).values_list("timezone", "through_day")
    )
    if len(states) != len(team_ids):
        return None, False
    if any(name != str(tz) for name, _ in states):
        return None, True
    return min(day for _, day in states), True


def _rolled(qs: QuerySet, f: ReportFilter, through: date, *, rep_column: str) -> QuerySet:
    return qs.filter(day__gte=f.first_day, day__lte=through, **f.lookups(rep=rep_column))


def clock_day_rows(f: ReportFilter, through: date, by: tuple[str, ...] = ()) -> QuerySet:
    """`metrics.clock_rows` for the closed days up to `through`, from the rollup."""
    qs = _rolled(
        ClockDay.objects.filter(agreement_id__in=f.agreement_ids), f, through, rep_column="user_id"
    )
    return (
        qs.values("day", "kind", *by)
        .annotate(decided=Sum("decided"), met=Sum("met"), made=Sum("made"))
        .order_by()
    )


def disposition_day_rows(f: ReportFilter, through: date, by: tuple[str, ...] = ()) -> QuerySet:
    """`metrics.disposition_rows` for the closed days up to `through`, from the rollup."""
    teams = DispositionDay.objects.filter(team_id__in=f.sales_team_ids)
    qs = _rolled(teams, f, through, rep_column="owner_id")
    return (
        qs.values("day", *by)
        .annotate(accepted=Sum("accepted"), rejected=Sum("rejected"))
        .order_by()
    )


def ttft_rows_sql(f: ReportFilter, through: date, columns: tuple[str, ...]) -> tuple[str, list]:
    """SQL of the first-touch rollup rows (these `ClockDay` columns, e.g. day, decided,
    ttft_seconds, ttft_buckets, ttft_counts, ttft_ends) of the closed days up to `through`,
    filtered."""
    qs = _rolled(
        ClockDay.objects.filter(agreement_id__in=f.agreement_ids, kind=Commitment.Kind.FIRST_TOUCH),
        f,
        through,
        rep_column="user_id",
    )
    inner, params = qs.values(*columns).query.sql_with_params()
    return inner, list(params)


def first_touch_day_rows_sql(
    f: ReportFilter, through: date, columns: tuple[str, ...]
) -> tuple[str, list]:
    """SQL of the `FirstTouchDay` rows (these columns) of the closed days up to `through`:
    for a report without a rep, tier or lead-source filter, which these rows do not keep."""
    if f.lookups(rep="user_id"):
        raise ValueError("FirstTouchDay is not kept by rep, tier or lead source.")
    qs = FirstTouchDay.objects.filter(
        agreement_id__in=f.agreement_ids, day__gte=f.first_day, day__lte=through
    )
    inner, params = qs.values(*columns).query.sql_with_params()
    return inner, list(params)
