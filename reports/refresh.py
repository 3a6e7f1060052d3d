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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.db.models import FloatField
from django.db.models.functions import Cast, TruncDate

from agreements.models import Agreement
from leads.models import Lead, Obligation, StageEvent
from leads.selectors import ACCEPTED, REJECTED, RETURNED
from reports import rollups
from reports.metrics.filters import SALES_KINDS, Kind, ReportFilter
from reports.metrics.live import (
    CLOCK_DIMENSIONS,
    FACT_COLUMNS,
    FACT_FLAGS,
    EpochSeconds,
    clock_rows,
    disposition_rows,
    first_touch_delays,
    funnel_facts_sql,
)
from reports.models import ClockDay, DispositionDay, FunnelLead, RollupState, StaleLead

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
        .annotate(seconds=ArrayAgg(Cast(EpochSeconds("ttft"), FloatField()), order_by="id"))
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
            ttft_seconds=ttft.get(key, []),
            **{name: r[name] for name in CLOCK_BY},
        )
        for key, r in rows.items()
    ]


def _disposition_days(team: _Team, f: ReportFilter) -> list[DispositionDay]:
    return [
        DispositionDay(team_id=team.pk, **row)
        for row in disposition_rows(f, DISPOSITION_BY)
        if row["accepted"] or row["rejected"]
    ]


def _rebuild_range(team: _Team, first: date, last: date, now: datetime) -> int:
    """Rewrite the team's clock and disposition rows of the closed days first‥last from the
    live tables; returns the number of days covered."""
    f = team.filter(first, last, now)
    ClockDay.objects.filter(
        agreement_id__in=team.agreement_ids, day__gte=first, day__lte=last
    ).delete()
    DispositionDay.objects.filter(team_id=team.pk, day__gte=first, day__lte=last).delete()
    ClockDay.objects.bulk_create(_clock_days(f), batch_size=2000)
    DispositionDay.objects.bulk_create(_disposition_days(team, f), batch_size=2000)
    return (last - first).days + 1


def _rebuild_days(team: _Team, days: set[date], now: datetime) -> int:
    return sum(_rebuild_range(team, first, last, now) for first, last in _runs(days))


def _write_funnel_facts(leads) -> None:
    """(Re)write the funnel facts of these leads (a queryset) with one INSERT … SELECT of
    `funnel_facts_sql` (its 1/0 flags stored as booleans, its sales team as the team)."""
    sql, params = funnel_facts_sql(leads.filter(sales_team__isnull=False))
    columns = ["lead_id", "team_id", *FACT_COLUMNS[1:], "entered_at", *FACT_FLAGS, "ft_open_due"]
    selected = ["f.lead_id", "f.sales_team_id", *(f"f.{c}" for c in FACT_COLUMNS[1:])]
    selected += ["f.entered_at", *(f"f.{flag} = 1" for flag in FACT_FLAGS), "f.ft_open_due"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(FunnelLead._meta.db_table)}"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
            f" ({', '.join(columns)}) SELECT {', '.join(selected)} FROM ({sql}) f",
            params,
        )


def _build_team(team: _Team, now: datetime) -> int:
    """All of a team's rollups from scratch; returns the number of closed days covered."""
    through = team.yesterday(now)
    ClockDay.objects.filter(agreement_id__in=team.agreement_ids).delete()
    DispositionDay.objects.filter(team_id=team.pk).delete()
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
    with connection.cursor() as cursor:  # fresh statistics, so the planner sees the new rows
        for model in (ClockDay, DispositionDay, FunnelLead):
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
    # Any team: a lead handed to another team leaves its old team's days to rebuild.
    events = (
        StageEvent.objects.filter(ACCEPTED | REJECTED | RETURNED, lead_id__in=lead_ids)
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
        FunnelLead.objects.filter(lead_id__in=ids).delete()
        _write_funnel_facts(Lead.objects.filter(pk__in=ids))
        states = {s.team_id: s for s in RollupState.objects.all()}
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
    yield
    for team, days in plan:
        _rebuild_days(team, days, now)


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
    """Drop every rollup and build it again from the live tables."""
    if rollups.enabled():
        with transaction.atomic():
            _locked(wait=True)
            RollupState.objects.all().delete()
    return refresh(now=now)
