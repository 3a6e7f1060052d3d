"""Sales figures: compliance of the lead clocks and time to first touch."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.db import connection

from reports import rollups
from reports.metrics.filters import GRAINS, SALES_KINDS, ReportFilter, _bucket_of
from reports.metrics.live import TTFT_BUCKETS, TTFT_EDGES, UNTOUCHED, first_touch_delays
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


def _live_delays_sql(f: ReportFilter) -> tuple[str, list]:
    """SQL of (day, s): one row per decided first-touch clock, live, `s` its delay in
    seconds or null."""
    delays = first_touch_delays(f).values("day", "ttft").order_by()
    inner, params = delays.query.sql_with_params()
    sql = f"SELECT day, EXTRACT(EPOCH FROM ttft)::float AS s FROM ({inner}) l"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    return sql, list(params)


def _ttft_summary_postgres(f: ReportFilter) -> TtftSummary:
    """Live: one pass over the delays, counted per bucket and ranked with percentile_cont
    over the range, each week and each month (GROUPING SETS). The rule the rolled-up path
    (`_ttft_summary_rolled`) answers the same as."""
    try:
        values_sql, params = _live_delays_sql(f)
    except EmptyResultSet:  # nothing can match (no visible agreement)
        values_sql, params = "SELECT NULL::date AS day, NULL::float AS s WHERE false", []
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


# The fine bucket each histogram bucket's delays fall in (bucket i: TTFT_EDGES[i-1] <= s).
_COARSE_OF = {
    i: next(
        key
        for key, _, lo, hi in TTFT_BUCKETS
        if lo.total_seconds() <= edge and (hi is None or edge < hi.total_seconds())
    )
    for i, edge in enumerate(TTFT_EDGES, start=1)
}
_CLOCKS = -1  # the pseudo-bucket that carries the number of clocks (touched or not)


@dataclass(frozen=True)
class _Rolled:
    """How one rollup gives, for the closed days, the delays' counts per fine bucket and the
    delays of one bucket: `rows` the rollup rows as SQL (filter, last closed day, columns),
    `counts` (day, bucket, n) over `rolled r`, the clocks as pseudo-bucket _CLOCKS, and
    `values` (tid, s) over `t` (tid, d0, d1, b) joined to `rolled r`."""

    rows: Callable[[ReportFilter, date, tuple[str, ...]], tuple[str, list]]
    count_columns: tuple[str, ...]
    counts: str
    value_columns: tuple[str, ...]
    values: str


# Per agreement and day (no rep, tier or lead-source filter): a few rows a day, added up.
_BY_DAY = _Rolled(
    rows=rollups.first_touch_day_rows_sql,
    count_columns=("day", "bucket", "clocks"),
    counts="""
        SELECT r.day, r.bucket::int AS bucket, r.clocks::bigint AS n
        FROM rolled r WHERE r.bucket IS NOT NULL
        UNION ALL SELECT r.day, -1 /* _CLOCKS */, r.clocks::bigint FROM rolled r""",
    value_columns=("day", "bucket", "seconds"),
    values="""
        SELECT t.tid, v.s
        FROM t JOIN rolled r ON r.day BETWEEN t.d0 AND t.d1 AND r.bucket = t.b
        CROSS JOIN LATERAL unnest(r.seconds) AS v(s)""",
)
# By rep, tier, lead source and clause (`ClockDay`): the counts of each row unnested.
_BY_DIMENSIONS = _Rolled(
    rows=rollups.ttft_rows_sql,
    count_columns=("day", "decided", "ttft_buckets", "ttft_counts"),
    counts="""
        SELECT r.day, u.bucket, u.n
        FROM rolled r CROSS JOIN LATERAL (
            SELECT b::int AS bucket, c::bigint AS n
            FROM unnest(r.ttft_buckets, r.ttft_counts) AS x(b, c)
            UNION ALL SELECT -1 /* _CLOCKS */, r.decided
        ) u""",
    value_columns=("day", "ttft_seconds", "ttft_buckets", "ttft_ends"),
    values="""
        SELECT t.tid, v.s
        FROM t JOIN rolled r ON r.day BETWEEN t.d0 AND t.d1
        CROSS JOIN LATERAL (SELECT array_position(r.ttft_buckets, t.b) AS p) at
        CROSS JOIN LATERAL unnest(
            r.ttft_seconds[COALESCE(r.ttft_ends[at.p - 1], 0) + 1 : r.ttft_ends[at.p]]
        ) AS v(s)
        WHERE at.p IS NOT NULL""",
)

_NO_DELAYS = "SELECT NULL::date AS day, NULL::float AS s WHERE false"


def _sources_sql(
    f: ReportFilter, through: date, live: ReportFilter | None, rolled: tuple[str, list]
) -> tuple[str, list]:
    """`WITH rolled AS (…), live AS (…)`: the rollup rows of the closed days (`rolled`, SQL
    and parameters), the live delays of the rest (none when all days are rolled up)."""
    rolled_sql, params = rolled
    live_sql, more = _NO_DELAYS, []
    if live is not None:
        with suppress(EmptyResultSet):  # nothing can match: no live delays
            live_sql, more = _live_delays_sql(live)
    return f"WITH rolled AS ({rolled_sql}), live AS ({live_sql})", [*params, *more]  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params


def _rank_targets(
    counts: dict[int, int], fractions: tuple[float, ...]
) -> dict[int, tuple[int, int]]:
    """For each 0-based rank percentile_cont reads at these fractions: (fine bucket, rank
    within the bucket), from the group's counts per fine bucket."""
    n = sum(counts.values())
    ranks = set()
    for fraction in fractions:
        position = fraction * (n - 1)
        ranks |= {math.floor(position), math.ceil(position)}
    targets, before = {}, 0
    for bucket in sorted(counts):
        inside = counts[bucket]
        for rank in ranks:
            if before <= rank < before + inside:
                targets[rank] = (bucket, rank - before)
        before += inside
    return targets


def _interpolated(values: dict[int, float], n: int, fraction: float) -> float | None:
    """percentile_cont's formula over the ranks read."""
    if not n:
        return None
    position = fraction * (n - 1)
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def _ttft_summary_rolled(f: ReportFilter, through: date, live: ReportFilter | None) -> TtftSummary:
    """The same figures as `_ttft_summary_postgres`, exact, from the rollup's counts per fine
    bucket: one query adds the counts up per week, month and the range; a second reads only
    the delays of the buckets that hold the ranks percentile_cont interpolates between
    (each day's sorted delays of that bucket) and picks those ranks. The live rest (today)
    is counted into both the same way. Without a rep, tier or lead-source filter the counts
    come per agreement and day (`FirstTouchDay`), otherwise from `ClockDay`'s rows."""
    rolled = _BY_DIMENSIONS if f.lookups(rep="user_id") else _BY_DAY
    try:
        sources, params = _sources_sql(
            f, through, live, rolled.rows(f, through, rolled.count_columns)
        )
    except EmptyResultSet:  # nothing can match (no visible agreement)
        return TtftSummary(
            _ttft_of({"clocks": 0, "touched": 0, "median": None, "p90": None}),
            {"week": {}, "month": {}},
        )
    edges = list(TTFT_EDGES)
    grain_of = (
        "date_trunc('week', day::timestamp)::date AS week, "
        "date_trunc('month', day::timestamp)::date AS month"
    )
    sql = f"""{sources}
        SELECT GROUPING(week, month) AS grouping, week, month, bucket, SUM(n)::bigint AS n
        FROM (
            SELECT {grain_of}, c.bucket, c.n FROM ({rolled.counts}) c
            UNION ALL
            SELECT {grain_of}, width_bucket(s, %s::float8[]), 1
            FROM live WHERE s IS NOT NULL
            UNION ALL
            SELECT {grain_of}, {_CLOCKS}, 1 FROM live
        ) d
        GROUP BY GROUPING SETS ((bucket), (week, bucket), (month, bucket))
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    groups: dict[tuple[str, date | None], dict[int, int]] = {("all", None): {}}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, edges])
        for grouping, week, month, bucket, n in cursor.fetchall():
            key = (
                ("all", None)
                if grouping == 3
                else ("week", week)
                if grouping == 1
                else ("month", month)
            )
            groups.setdefault(key, {})[bucket] = n
    # Which ranks to read, per group; each (group, bucket) is read once for all its ranks.
    wanted, reads, ranks_read = [], {}, []
    for gid, ((grain, start), counts) in enumerate(groups.items()):
        clocks = counts.pop(_CLOCKS, 0)
        fractions = (0.5, 0.9) if grain == "all" else (0.5,)
        ranks = _rank_targets(counts, fractions) if counts else {}
        wanted.append((grain, start, clocks, counts))
        first, last = _group_days(f, grain, start)
        for rank, (bucket, within) in ranks.items():
            tid = reads.setdefault((gid, bucket), (len(reads), first, last, bucket))[0]
            ranks_read.append((tid, within, gid, rank))
    picked: dict[tuple[int, int], float] = {}
    if reads:
        sources, params = _sources_sql(
            f, through, live, rolled.rows(f, through, rolled.value_columns)
        )
        t_rows = ", ".join(["(%s, %s::date, %s::date, %s::smallint)"] * len(reads))
        j_rows = ", ".join(["(%s, %s)"] * len(ranks_read))
        sql = f"""{sources},
            t(tid, d0, d1, b) AS (VALUES {t_rows}),
            tj(tid, j) AS (VALUES {j_rows}),
            vals AS (
                {rolled.values}
                UNION ALL
                SELECT t.tid, l.s FROM t JOIN live l
                    ON l.day BETWEEN t.d0 AND t.d1 AND width_bucket(l.s, %s::float8[]) = t.b
            ),
            counted AS (
                SELECT tid, s, n, SUM(n) OVER (PARTITION BY tid ORDER BY s) AS upto
                FROM (SELECT tid, s, COUNT(*) AS n FROM vals GROUP BY tid, s) g
            )
            SELECT tj.tid, tj.j, c.s FROM tj
            JOIN counted c ON c.tid = tj.tid AND c.upto - c.n <= tj.j AND tj.j < c.upto
        """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
        t_params = [v for row in reads.values() for v in row]
        j_params = [v for tid, within, _, _ in ranks_read for v in (tid, within)]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *t_params, *j_params, edges])
            found = {(tid, within): s for tid, within, s in cursor.fetchall()}
        picked = {(gid, rank): found[(tid, within)] for tid, within, gid, rank in ranks_read}
    medians: dict[str, dict[date, float | None]] = {"week": {}, "month": {}}
    overall = None
    for gid, (grain, start, clocks, counts) in enumerate(wanted):
        touched = sum(counts.values())
        ranked = {rank: s for (g, rank), s in picked.items() if g == gid}
        median = _interpolated(ranked, touched, 0.5)
        if grain == "all":
            row = {
                "clocks": clocks,
                "touched": touched,
                "median": median,
                "p90": _interpolated(ranked, touched, 0.9),
            }
            for key, _, _, _ in TTFT_BUCKETS:
                row[key] = 0
            for bucket, n in counts.items():
                if bucket in _COARSE_OF:
                    row[_COARSE_OF[bucket]] += n
            overall = _ttft_of(row)
        else:
            medians[grain][start] = median
    return TtftSummary(overall, medians)


def _group_days(f: ReportFilter, grain: str, start: date | None) -> tuple[date, date]:
    if grain == "all" or start is None:
        return f.first_day, f.last_day
    if grain == "week":
        return start, start + timedelta(days=6)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, following - timedelta(days=1)


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
    if connection.vendor != "postgresql":
        return _ttft_summary_portable(f)
    through, live = _split(f)
    if through is None:
        return _ttft_summary_postgres(f)
    return _ttft_summary_rolled(f, through, live)


def time_to_first_touch(f: ReportFilter, days: DayCounts | None = None) -> TimeToFirstTouch:
    """`ttft_summary` over the range (median, p90, histogram)."""
    return (days.ttft if days and days.ttft else ttft_summary(f)).overall


# Scorecard and review pack ----------------------------------------------------------------


def clause_compliance(
    f: ReportFilter,
    grain: str,
    days: dict[tuple, ClockCompliance] | None = None,
) -> dict[tuple[date, str, UUID], ClockCompliance]:
    """Sales compliance per period, kind and clause (a commitment's identity across the
    versions of the agreement), by the same rule as `sales_compliance`: the day counts added
    up, so a kind's clauses add up to the kind's figure. `days`: the clock day counts by
    clause (`clock_days(…, by=("clause",))`) of a range holding this one, read already."""
    result: dict[tuple[date, str, UUID], ClockCompliance] = {}
    rows = days if days is not None else clock_days(f, by=("clause",))
    for (day, kind, clause), counts in rows.items():
        if not f.first_day <= day <= f.last_day:
            continue
        key = (_bucket_of(grain, day, f.tz), kind, clause)
        _add(result.setdefault(key, ClockCompliance(kind)), counts)
    return result
