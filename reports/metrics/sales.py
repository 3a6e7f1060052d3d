"""Sales figures: compliance of the lead clocks and time to first touch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.db import connection

from reports import rollups
from reports.metrics.filters import GRAINS, SALES_KINDS, ReportFilter, _bucket_of
from reports.metrics.live import TTFT_BUCKETS, UNTOUCHED, first_touch_delays
from reports.metrics.source import ClockCompliance, _add, _split, clock_days, disposition_days


@dataclass
class DayCounts:
    """Clock and disposition counts per local day of the range: the totals and the weekly and
    monthly trends are added up from these (days, not leads), so one query serves all three."""

    clocks: dict[tuple[date, str], ClockCompliance]
    dispositions: dict[date, tuple[int, int]]  # (accepted, rejected)
    ttft: TtftSummary | None = None


def day_counts(f: ReportFilter) -> DayCounts:
    """Three queries: lead clocks by day of their due time and kind, dispositions by day,
    and time to first touch over the range, per week and per month."""
    return DayCounts(clock_days(f), disposition_days(f), ttft_summary(f))


def sales_compliance(f: ReportFilter, days: DayCounts | None = None) -> dict[str, ClockCompliance]:
    """First-touch, follow-up and disposition compliance over the range."""
    clocks = days.clocks if days else clock_days(f)
    result = {kind: ClockCompliance(kind) for kind in SALES_KINDS}
    for (_, kind), counts in clocks.items():
        _add(result[kind], counts)
    return result


# Time to first touch ----------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    """percentile_cont in Python (linear interpolation), for databases without it."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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
            parts.append(f"SELECT day, EXTRACT(EPOCH FROM ttft)::float AS s FROM ({inner}) l")  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
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
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
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


# Scorecard and review pack ----------------------------------------------------------------


def clause_compliance(f: ReportFilter, grain: str) -> dict[tuple[date, str, UUID], ClockCompliance]:
    """Sales compliance per period, kind and clause (a commitment's identity across the
    versions of the agreement), by the same rule as `sales_compliance`: the day counts added
    up, so a kind's clauses add up to the kind's figure."""
    result: dict[tuple[date, str, UUID], ClockCompliance] = {}
    for (day, kind, clause), counts in clock_days(f, by=("clause",)).items():
        key = (_bucket_of(grain, day, f.tz), kind, clause)
        _add(result.setdefault(key, ClockCompliance(kind)), counts)
    return result
