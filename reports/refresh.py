"""Keeping the rollups (reports.models) true to the live tables.

Run by the periodic checks every minute (`reports.tasks.refresh_rollups`) and by
`manage.py refresh_rollups`. Each step is one transaction under an advisory lock, so two
workers never rebuild the same rows at once. The rows are computed by the very queries of
`reports.metrics.live` (`clock_rows`, `first_touch_delays`, `disposition_rows`,
`funnel_facts_sql`), grouped finer: the rollup cannot count differently from the live path.

- A sales team without rollups gets them built in full (all closed days, every lead's funnel
  facts); after that, each newly closed local day is added once.
- Leads marked stale (`reports.rollups.mark_stale`, called by the services in the changing
  transaction) have their funnel facts rewritten, and the closed days their clocks and
  dispositions fall on are rebuilt.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.db.models import F, FloatField, Q
from django.db.models.functions import Cast, TruncDate

from agreements.models import Agreement, Commitment
from leads.models import FUNNEL, Lead, Obligation, StageEvent
from leads.selectors import RETURNED, reaching_stage_per_day_sql
from reports import rollups
from reports.metrics.filters import SALES_KINDS, Kind, ReportFilter
from reports.metrics.live import (
    CLOCK_DIMENSIONS,
    FACT_COLUMNS,
    FACT_FLAGS,
    TTFT_EDGES,
    EpochSeconds,
    clock_rows,
    disposition_rows,
    first_touch_delays,
    funnel_facts_sql,
)
from reports.models import (
    ClockDay,
    DispositionDay,
    FirstTouchDay,
    FunnelDay,
    FunnelLead,
    ReachDay,
    RollupState,
    StaleLead,
)

LOCK_KEY = 0x51A_7011  # pg_advisory_xact_lock key of the rollup refresh
STALE_BATCH = 2000
CLOCK_BY = ("agreement_id", "clause", "user_id", "tier", "lead_source")
DISPOSITION_BY = ("owner_id", "tier", "lead_source", "reason")
FIRST_DAY = date(2000, 1, 1)  # reports start no earlier (reports.forms)
MERGE_GAP_DAYS = 3  # rebuild runs of days as one range when this close


@dataclass
class RefreshResult:
    teams_built: int = 0
    days_closed: int = 0
    stale_leads: int = 0
    days_rebuilt: int = 0
    enabled: bool = True

    def __str__(self) -> str:
        if not self.enabled:
            return "rollups: not kept on this database (reports read live)"
        return (
            f"rollups: {self.teams_built} teams built, {self.days_closed} days closed, "
            f"{self.stale_leads} changed leads, {self.days_rebuilt} days rebuilt"
        )


@dataclass(frozen=True)
class _Team:
    pk: int
    tz: ZoneInfo
    agreement_ids: tuple[int, ...]

    def yesterday(self, now: datetime) -> date:
        return now.astimezone(self.tz).date() - timedelta(days=1)

    def midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz)

    def filter(self, first: date, last: date, now: datetime) -> ReportFilter:
        return ReportFilter(
            start=self.midnight(first),
            end=self.midnight(last + timedelta(days=1)),
            now=now,
            agreement_ids=self.agreement_ids,
            sales_team_ids=(self.pk,),
            tz=self.tz,
        )


def _teams() -> list[_Team]:
    """Sales teams with an agreement; a team's days are cut in the time zone of its first
    agreement's calendar (the one `reports.selectors.report_filter` picks)."""
    teams: dict[int, _Team] = {}
    rows = Agreement.objects.order_by("pk").values_list("pk", "sales_team_id", "calendar__timezone")
    for pk, team_id, tz in rows:
        team = teams.get(team_id)
        if team is None:
            teams[team_id] = _Team(team_id, ZoneInfo(tz), (pk,))
        else:
            teams[team_id] = _Team(team_id, team.tz, (*team.agreement_ids, pk))
    return list(teams.values())


def _locked(*, wait: bool = False) -> bool:
    """Take the refresh lock for this transaction; without `wait`, False if another
    refresh holds it (that one does the work)."""
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])
        return wait or bool(cursor.fetchone()[0])


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Sorted days as (first, last) runs, merging gaps of up to MERGE_GAP_DAYS."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][1]).days <= MERGE_GAP_DAYS:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _clock_days(f: ReportFilter) -> list[ClockDay]:
    rows = {
        (r["day"], r["kind"], *(r[name] for name in CLOCK_BY)): r
        for r in clock_rows(f, CLOCK_BY)
        if r["decided"] or r["met"]
    }
    delays = (
        first_touch_delays(f)
        .annotate(**CLOCK_DIMENSIONS)
        .values("day", *CLOCK_BY)
        .annotate(
            seconds=ArrayAgg(
                Cast(EpochSeconds("ttft"), FloatField()),
                order_by=F("ttft").asc(nulls_last=True),
            )
        )
        .order_by()
    )
    ttft = {
        (r["day"], Kind.FIRST_TOUCH, *(r[name] for name in CLOCK_BY)): r["seconds"] for r in delays
    }
    return [
        ClockDay(
            day=r["day"],
            kind=r["kind"],
            decided=r["decided"],
            met=r["met"],
            made=r["made"],
            **_with_buckets(ttft.get(key, [])),
            **{name: r[name] for name in CLOCK_BY},
        )
        for key, r in rows.items()
    ]


def first_touch_days_sql(agreement_ids: list[int], first: date, last: date) -> tuple[str, list]:
    """INSERT … SELECT of `FirstTouchDay` for these agreements' days first‥last from their
    `ClockDay` first-touch rows: the delays of each agreement and day added up per fine
    bucket (`width_bucket` on TTFT_EDGES, as the live path counts them; null: never
    touched), sorted."""
    qn = connection.ops.quote_name
    touch, clock = qn(FirstTouchDay._meta.db_table), qn(ClockDay._meta.db_table)
    sql = f"""
        INSERT INTO {touch} (agreement_id, day, bucket, clocks, seconds)
        SELECT c.agreement_id, c.day, width_bucket(s, %s::float8[]), COUNT(*),
            COALESCE(array_agg(s ORDER BY s) FILTER (WHERE s IS NOT NULL), '{{}}')
        FROM {clock} c CROSS JOIN LATERAL unnest(c.ttft_seconds) AS s
        WHERE c.agreement_id = ANY(%s) AND c.day >= %s AND c.day <= %s AND c.kind = %s
        GROUP BY 1, 2, 3
    """  # nosec B608 # names are code constants, values are params
    return sql, [list(TTFT_EDGES), agreement_ids, first, last, Kind.FIRST_TOUCH]


def _with_buckets(seconds: list[float | None]) -> dict:
    """The sorted delays, their counts per fine bucket (non-empty buckets, in order) and where
    each bucket ends among them."""
    counts: dict[int, int] = {}
    for s in seconds:
        if s is not None:
            bucket = bisect_right(TTFT_EDGES, s)
            counts[bucket] = counts.get(bucket, 0) + 1
    ends, upto = [], 0
    for n in counts.values():
        upto += n
        ends.append(upto)
    return {
        "ttft_seconds": seconds,
        "ttft_buckets": list(counts),
        "ttft_counts": list(counts.values()),
        "ttft_ends": ends,
    }


def _disposition_days(team: _Team, f: ReportFilter) -> list[DispositionDay]:
    return [
        DispositionDay(team_id=team.pk, **row)
        for row in disposition_rows(f, DISPOSITION_BY)
        if row["accepted"] or row["rejected"]
    ]


def _reach_days_sql(team: _Team, f: ReportFilter) -> tuple[str, list]:
    """INSERT … SELECT of ReachDay for the range: leads first reaching each volume stage per
    local day, by the rule a running quota's live rest is counted by
    (`leads.selectors.reaching_stage_per_day_sql`)."""
    agreement = Agreement(pk=team.agreement_ids[0], sales_team_id=team.pk)
    parts, params = [], []
    for stage in Commitment.Stage.values:
        per_day, more = reaching_stage_per_day_sql(agreement, stage, f.start, f.end, team.tz)
        parts.append(f"SELECT %s::bigint, d.day, %s, d.leads FROM ({per_day}) d")  # nosec B608 # SQL is ORM-compiled, values are params
        params += [team.pk, stage, *more]
    table = connection.ops.quote_name(ReachDay._meta.db_table)
    sql = f"INSERT INTO {table} (team_id, day, stage, leads) {' UNION ALL '.join(parts)}"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    return sql, params


def _delete_days(team: _Team, first: date, last: date) -> None:
    """The team's clock, first-touch, disposition and reach rows of first‥last, in one
    statement."""
    qn = connection.ops.quote_name
    clock, touch, disposition, reach = (
        qn(m._meta.db_table) for m in (ClockDay, FirstTouchDay, DispositionDay, ReachDay)
    )
    days = "day >= %s AND day <= %s"
    agreements = list(team.agreement_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH c AS (DELETE FROM {clock} WHERE agreement_id = ANY(%s) AND {days}),"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
            f" t AS (DELETE FROM {touch} WHERE agreement_id = ANY(%s) AND {days}),"
            f" d AS (DELETE FROM {disposition} WHERE team_id = %s AND {days})"
            f" DELETE FROM {reach} WHERE team_id = %s AND {days}",
            [agreements, first, last, agreements, first, last]
            + [team.pk, first, last, team.pk, first, last],
        )


def _rebuild_range(team: _Team, first: date, last: date, now: datetime) -> int:
    """Rewrite the team's clock and disposition rows of the closed days first‥last from the
    live tables; returns the number of days covered."""
    f = team.filter(first, last, now)
    _delete_days(team, first, last)
    ClockDay.objects.bulk_create(_clock_days(f), batch_size=2000)
    DispositionDay.objects.bulk_create(_disposition_days(team, f), batch_size=2000)
    touch_sql, touch_params = first_touch_days_sql(list(team.agreement_ids), first, last)
    reach_sql, reach_params = _reach_days_sql(team, f)
    with connection.cursor() as cursor:  # one statement: the INSERT of each as a CTE's
        cursor.execute(f"WITH t AS ({touch_sql}) {reach_sql}", [*touch_params, *reach_params])
    return (last - first).days + 1


def _rebuild_days(team: _Team, days: set[date], now: datetime) -> int:
    return sum(_rebuild_range(team, first, last, now) for first, last in _runs(days))


def _write_funnel_facts(leads, *, returning: bool = False) -> list[tuple[int, datetime]]:
    """(Re)write the funnel facts of these leads (a queryset) with one INSERT … SELECT of
    `funnel_facts_sql` (its 1/0 flags stored as booleans, its sales team as the team); with
    `returning`, the (team, entered at) of the rows written."""
    sql, params = funnel_facts_sql(leads.filter(sales_team__isnull=False))
    columns = ["lead_id", "team_id", *FACT_COLUMNS[1:], "entered_at", *FACT_FLAGS, "ft_open_due"]
    selected = ["f.lead_id", "f.sales_team_id", *(f"f.{c}" for c in FACT_COLUMNS[1:])]
    selected += ["f.entered_at", *(f"f.{flag} = 1" for flag in FACT_FLAGS), "f.ft_open_due"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(FunnelLead._meta.db_table)}"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
            f" ({', '.join(columns)}) SELECT {', '.join(selected)} FROM ({sql}) f"
            + (" RETURNING team_id, entered_at" if returning else ""),
            params,
        )
        return list(cursor.fetchall()) if returning else []


def _forget_funnel_facts(lead_ids: list[int]) -> list[tuple[int, datetime]]:
    """Delete these leads' funnel facts; the (team, entered at) of the rows deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(FunnelLead._meta.db_table)}"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
            " WHERE lead_id = ANY(%s) RETURNING team_id, entered_at",
            [list(lead_ids)],
        )
        return list(cursor.fetchall())


# FunnelDay's counts, from FunnelLead's facts by the funnel's own rules (reports.metrics.funnel:
# with no open first-touch clock, a lead missed its SLA exactly when one was breached).
FUNNEL_DAY_SUMS = {
    "mql": "1",
    "sal": "r_sal",
    "sql": "r_sql",
    "opportunity": "r_opportunity",
    "won": "r_won",
    "recycled": "r_recycled",
    "rejected": "r_rejected",
    "sla_kept": "ft_met AND NOT ft_breached",
    "sla_missed": "ft_breached",
    "sla_kept_sql": "ft_met AND NOT ft_breached AND r_sql",
    "sla_missed_sql": "ft_breached AND r_sql",
    "sla_kept_won": "ft_met AND NOT ft_breached AND r_won",
    "sla_missed_won": "ft_breached AND r_won",
}
_FUNNEL_DAY_BY = ("owner_id", "tier", "lead_source", "campaign")


def _sum_funnel_days(rows: list[tuple[int, datetime]], zones: dict[int, str]) -> None:
    """Rewrite FunnelDay, from FunnelLead, for the local days (in each team's rollup time
    zone) these (team, entered at) fall on: one statement (DELETE and INSERT … SELECT …
    GROUP BY). Teams without rollups have none."""
    windows = set()
    for team_id, entered in rows:
        if team_id not in zones:
            continue
        tz = ZoneInfo(zones[team_id])
        day = entered.astimezone(tz).date()
        following = day + timedelta(days=1)
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        end = datetime(following.year, following.month, following.day, tzinfo=tz)
        windows.add((team_id, zones[team_id], start, end))
    if not windows:
        return
    qn = connection.ops.quote_name
    table, facts = qn(FunnelDay._meta.db_table), qn(FunnelLead._meta.db_table)
    teams, names, starts, ends = (list(column) for column in zip(*sorted(windows), strict=True))
    sums = ", ".join(
        f"SUM(CASE WHEN {rule} THEN 1 ELSE 0 END)" if rule != "1" else "COUNT(*)"
        for rule in FUNNEL_DAY_SUMS.values()
    )
    by = ", ".join(f"f.{column}" for column in _FUNNEL_DAY_BY)
    # One snapshot: the DELETE does not see the rows the INSERT adds.
    sql = f"""
        WITH w AS (
            SELECT * FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[],
                %s::timestamptz[]) AS w(team, tz, lo, hi)
        ), gone AS (
            DELETE FROM {table} d USING w
            WHERE d.team_id = w.team AND d.day = (w.lo AT TIME ZONE w.tz)::date
        )
        INSERT INTO {table} (team_id, day, {", ".join((*_FUNNEL_DAY_BY, *FUNNEL_DAY_SUMS))})
        SELECT f.team_id, (w.lo AT TIME ZONE w.tz)::date, {by}, {sums}
        FROM w JOIN {facts} f ON f.team_id = w.team
            AND f.entered_at >= w.lo AND f.entered_at < w.hi AND f.ft_open_due IS NULL
        GROUP BY f.team_id, w.lo, w.tz, {by}
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    with connection.cursor() as cursor:
        cursor.execute(sql, [teams, names, starts, ends])


def _build_funnel_days(team: _Team) -> None:
    """All of a team's FunnelDay rows from its FunnelLead rows (one INSERT … SELECT)."""
    qn = connection.ops.quote_name
    sums = ", ".join(
        f"SUM(CASE WHEN {rule} THEN 1 ELSE 0 END)" if rule != "1" else "COUNT(*)"
        for rule in FUNNEL_DAY_SUMS.values()
    )
    by = ", ".join(_FUNNEL_DAY_BY)
    FunnelDay.objects.filter(team_id=team.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(FunnelDay._meta.db_table)} (team_id, day, {by},"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
            f" {', '.join(FUNNEL_DAY_SUMS)})"
            f" SELECT team_id, (entered_at AT TIME ZONE %s)::date AS day, {by}, {sums}"
            f" FROM {qn(FunnelLead._meta.db_table)}"
            " WHERE team_id = %s AND ft_open_due IS NULL"
            f" GROUP BY team_id, day, {by}",
            [str(team.tz), team.pk],
        )


def _build_team(team: _Team, now: datetime) -> int:
    """All of a team's rollups from scratch; returns the number of closed days covered."""
    through = team.yesterday(now)
    ClockDay.objects.filter(agreement_id__in=team.agreement_ids).delete()
    FirstTouchDay.objects.filter(agreement_id__in=team.agreement_ids).delete()
    DispositionDay.objects.filter(team_id=team.pk).delete()
    ReachDay.objects.filter(team_id=team.pk).delete()
    FunnelLead.objects.filter(team_id=team.pk).delete()
    first_due = (
        Obligation.objects.filter(team_id=team.pk, kind__in=SALES_KINDS, lead__isnull=False)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    first_event = (
        StageEvent.objects.filter(lead__sales_team_id=team.pk)
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    starts = [t.astimezone(team.tz).date() for t in (first_due, first_event) if t is not None]
    first = max(min(starts), FIRST_DAY) if starts else through
    days = _rebuild_range(team, first, through, now) if first <= through else 0
    _write_funnel_facts(Lead.objects.filter(sales_team_id=team.pk))
    _build_funnel_days(team)
    with connection.cursor() as cursor:  # fresh statistics, so the planner sees the new rows
        for model in (ClockDay, FirstTouchDay, DispositionDay, FunnelLead, FunnelDay, ReachDay):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    RollupState.objects.update_or_create(
        team_id=team.pk,
        defaults={"timezone": str(team.tz), "through_day": through, "refreshed_at": now},
    )
    return days


def _advance(now: datetime, result: RefreshResult) -> None:
    """Build missing teams; add the days closed since the last run."""
    with transaction.atomic():
        if not _locked():
            return
        states = {s.team_id: s for s in RollupState.objects.all()}
        for team in _teams():
            state = states.get(team.pk)
            through = team.yesterday(now)
            if state is None or state.timezone != str(team.tz):
                _build_team(team, now)
                result.teams_built += 1
            elif state.through_day < through:
                first = state.through_day + timedelta(days=1)
                result.days_closed += _rebuild_range(team, first, through, now)
                state.through_day, state.refreshed_at = through, now
                state.save(update_fields=["through_day", "refreshed_at"])


def _claim_stale(limit: int) -> list[int]:
    qn = connection.ops.quote_name
    table = qn(StaleLead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE lead_id IN"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
            f" (SELECT lead_id FROM {table} ORDER BY lead_id LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING lead_id",
            [limit],
        )
        return [row[0] for row in cursor.fetchall()]


def _touched_days(team: _Team, lead_ids: list[int], through: date) -> set[date]:
    """Closed local days (up to `through`) on which these leads' clocks of the team's
    agreements fell due or their dispositions happened."""
    due = (
        Obligation.objects.filter(
            lead_id__in=lead_ids,
            kind__in=SALES_KINDS,
            agreement_version__agreement_id__in=team.agreement_ids,
        )
        .annotate(day=TruncDate("due_at", tzinfo=team.tz))
        .values_list("day", flat=True)
        .distinct()
    )
    # Any team: a lead handed to another team leaves its old team's days to rebuild. Every
    # funnel event: the day a lead first reached a stage moves with an earlier event.
    events = (
        StageEvent.objects.filter(
            Q(to_stage__in=(*FUNNEL, "rejected")) | RETURNED, lead_id__in=lead_ids
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=team.tz))
        .values_list("day", flat=True)
        .distinct()
    )
    return {day for day in (*due, *events) if day <= through}


def _refresh_stale(now: datetime, result: RefreshResult, limit: int) -> int:
    with transaction.atomic():
        if not _locked():
            return 0
        ids = _claim_stale(limit)
        if not ids:
            return 0
        states = {s.team_id: s for s in RollupState.objects.all()}
        before = _forget_funnel_facts(ids)
        after = _write_funnel_facts(Lead.objects.filter(pk__in=ids), returning=True)
        _sum_funnel_days([*before, *after], {pk: s.timezone for pk, s in states.items()})
        for team in _teams():
            state = states.get(team.pk)
            if state is not None:
                days = _touched_days(team, ids, state.through_day)
                result.days_rebuilt += _rebuild_days(team, days, now)
        result.stale_leads += len(ids)
        return len(ids)


@contextmanager
def forgetting(lead_ids: list[int], *, now: datetime) -> Iterator[None]:
    """Wrap the deletion of these leads: the closed days their clocks and dispositions fell
    on are rebuilt once they are gone (their funnel facts go with them, by cascade)."""
    if not rollups.enabled():
        yield
        return
    _locked(wait=True)
    states = {s.team_id: s for s in RollupState.objects.all()}
    plan = [
        (team, _touched_days(team, lead_ids, states[team.pk].through_day))
        for team in _teams()
        if team.pk in states
    ]
    facts = list(
        FunnelLead.objects.filter(lead_id__in=lead_ids).values_list("team_id", "entered_at")
    )
    yield
    for team, days in plan:
        _rebuild_days(team, days, now)
    _sum_funnel_days(facts, {pk: s.timezone for pk, s in states.items()})


def refresh(*, now: datetime) -> RefreshResult:
    """Bring the rollups up to date (PostgreSQL; a no-op elsewhere)."""
    result = RefreshResult(enabled=rollups.enabled())
    if not result.enabled:
        return result
    _advance(now, result)
    while _refresh_stale(now, result, STALE_BATCH) == STALE_BATCH:
        pass
    return result


def rebuild(*, now: datetime) -> RefreshResult:
    """Drop every rollup and build it again from the live tables, in one transaction: until
    it commits the reports read the old rollups, not everything live (a minute or more at a
    million leads, when a live funnel over a year takes longer still)."""
    if not rollups.enabled():
        return refresh(now=now)
    with transaction.atomic():
        _locked(wait=True)
        RollupState.objects.all().delete()
        return refresh(now=now)
