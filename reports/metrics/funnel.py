"""The closed-loop funnel: the cohort that entered it in the range, followed up to `now`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import pairwise

from django.core.exceptions import EmptyResultSet
from django.db import connection

from reports import rollups
from reports.metrics.filters import FUNNEL_GROUPS, ReportFilter, pct
from reports.metrics.live import (
    FACT_COLUMNS,
    FACT_FLAGS,
    FUNNEL_STEPS,
    _funnel_candidates,
    funnel_facts_sql,
    funnel_leads,
)
from reports.models import FunnelDay, FunnelLead, RollupState, StaleLead

NO_AMOUNT = Decimal("0.00")


@dataclass
class FunnelRow:
    group: str
    counts: dict[str, int]  # mql … won, recycled, rejected, sla_kept, sla_missed, …
    # The CRM deals won from the group's marketing-sourced leads (`won_amounts`).
    won_amount: Decimal = field(default_factory=lambda: NO_AMOUNT)

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


def _measures(facts_sql: str, now_param: str = "%s", sign: str = "") -> str:
    """Per lead of `facts_sql` (the per-lead facts): its group columns and each funnel
    measure as 1/0 (negated with `sign` "-"); a first-touch clock is missed when breached or
    open past its due time at `now` (the `now_param` placeholder)."""
    qn = connection.ops.quote_name
    measures = ", ".join(
        f"{sign}CASE WHEN {cond} THEN 1 ELSE 0 END AS {qn(name)}"
        for name, cond in _FUNNEL_MEASURES_SQL
    )
    return f"""
        SELECT campaign, lead_source, {sign}1 AS mql, {measures}
        FROM (
            SELECT facts.*, CASE WHEN ft_breached = 1 OR (ft_open_due IS NOT NULL
                AND ft_open_due <= {now_param}) THEN 1 ELSE 0 END AS ft_missed
            FROM ({facts_sql}) facts
        ) lead_facts
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params


def _rolled_facts_sql(f: ReportFilter, window: list, where: list[str]) -> tuple[str, list]:
    """`FunnelLead` rows of the cohort's teams entered in the window (and `where`), in the
    live facts' shape (flags as 1/0)."""
    qn = connection.ops.quote_name
    conditions = ["r.team_id = ANY(%s)", "r.entered_at >= %s", "r.entered_at < %s", *where]
    params: list = [list(f.sales_team_ids), *window]
    for column, value in f.lookups(rep="owner_id").items():
        conditions.append(f"r.{column} = %s")
        params.append(value)
    flags = ", ".join(f"r.{name}::int AS {name}" for name in FACT_FLAGS)
    sql = f"""
        SELECT r.lead_id, r.team_id AS sales_team_id,
            {", ".join(f"r.{c}" for c in FACT_COLUMNS[1:])}, r.entered_at, {flags}, r.ft_open_due
        FROM {qn(FunnelLead._meta.db_table)} r WHERE {" AND ".join(conditions)}
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    return sql, params


def _teams_with_facts(f: ReportFilter) -> set[int]:
    """The report's sales teams whose funnel facts are kept (rollups built), when not all
    of them are (one query; none without rollups)."""
    if not rollups.enabled() or not f.sales_team_ids:
        return set()
    return set(
        RollupState.objects.filter(team_id__in=f.sales_team_ids).values_list("team_id", flat=True)
    )


def _cohort_measures_sql(f: ReportFilter) -> tuple[str, list]:
    """The cohort's measures, one row per lead or per (day, owner, tier, source, campaign):
    - no rollups: every lead's facts live (for the teams whose rollups are not built yet,
      the others' as below, so one new team does not make the whole funnel live);
    - rollups in another time zone than the report's: each lead's `FunnelLead` row, the
      leads changed since the last refresh read live instead;
    - rollups in the report's time zone: the `FunnelDay` sums of the range's days, less the
      `FunnelLead` rows of the changed leads (read live instead), plus the leads with an
      open first-touch clock (left out of `FunnelDay`: missed is judged at `now`) one by
      one. So the answer is always as current as the live tables."""
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(f.now)
    window = [adapt(f.start), adapt(f.end)]
    candidates = _funnel_candidates(f)

    def in_window(sql: str) -> str:
        return f"SELECT * FROM ({sql}) live WHERE entered_at >= %s AND entered_at < %s"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params

    if not f.funnel_rolled:
        rolled_teams = _teams_with_facts(f)
        if rolled_teams:  # those from their facts, the teams not rolled up yet live
            live_f = replace(f, sales_team_ids=tuple(sorted(set(f.sales_team_ids) - rolled_teams)))
            rolled_f = replace(f, sales_team_ids=tuple(sorted(rolled_teams)), funnel_rolled=True)
            rolled_sql, rolled_params = _cohort_measures_sql(replace(rolled_f, rolled_until=None))
            if not live_f.sales_team_ids:
                return rolled_sql, rolled_params
            live_sql, live_params = _cohort_measures_sql(live_f)
            return f"{rolled_sql} UNION ALL {live_sql}", [*rolled_params, *live_params]
        sql, params = funnel_facts_sql(candidates)
        return _measures(in_window(sql)), [now, *params, *window]
    qn = connection.ops.quote_name
    stale_table = qn(StaleLead._meta.db_table)
    stale = f"r.lead_id IN (SELECT lead_id FROM {stale_table})"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    live_sql, live_params = funnel_facts_sql(
        candidates.filter(pk__in=StaleLead.objects.values("lead_id"))
    )
    parts = [_measures(in_window(live_sql))]
    params: list = [now, *live_params, *window]
    if f.rolled_until is None:
        rolled, more = _rolled_facts_sql(f, window, [f"NOT {stale}"])
        parts.append(_measures(rolled))
        return " UNION ALL ".join(parts), [*params, now, *more]
    open_sql, more = _rolled_facts_sql(f, window, ["r.ft_open_due IS NOT NULL", f"NOT {stale}"])
    parts.append(_measures(open_sql))
    params += [now, *more]
    changed_sql, more = _rolled_facts_sql(f, window, ["r.ft_open_due IS NULL", stale])
    parts.append(_measures(changed_sql, sign="-"))
    params += [now, *more]
    days = ["d.team_id = ANY(%s)", "d.day >= %s", "d.day <= %s"]
    day_params: list = [list(f.sales_team_ids), f.first_day, f.last_day]
    for column, value in f.lookups(rep="owner_id").items():
        days.append(f"d.{column} = %s")
        day_params.append(value)
    parts.append(
        f"SELECT campaign, lead_source, {', '.join(qn(name) for name in MEASURE_NAMES)}"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
        f" FROM {qn(FunnelDay._meta.db_table)} d WHERE {' AND '.join(days)}"
    )
    return " UNION ALL ".join(parts), [*params, *day_params]


def _funnel_counts(f: ReportFilter, columns: tuple[str, ...]) -> list[dict]:
    """The funnel counted in one statement from the cohort's measures
    (`_cohort_measures_sql`: per-lead facts of `funnel_facts_sql`, live or rolled up, and
    their daily sums), summed per group of `columns`. The same rules as `funnel_leads`: a
    first-touch clock is missed when breached or open past its due time at `now`."""
    try:
        measures_sql, params = _cohort_measures_sql(f)
    except EmptyResultSet:  # nothing can match (no visible agreement)
        return []
    qn = connection.ops.quote_name
    sums = ", ".join(f"SUM({qn(name)}) AS {qn(name)}" for name in MEASURE_NAMES)
    selected = "".join(f"{qn(column)}, " for column in columns)
    sql = f"SELECT {selected}{sums} FROM ({measures_sql}) cohort"  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    if columns:
        sql += " GROUP BY " + ", ".join(qn(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    # A group whose rows cancel out (a changed lead moved to another group) counts nothing.
    rows = [row for row in rows if any(row[name] for name in MEASURE_NAMES)]
    return [{k: v if k in columns else int(v or 0) for k, v in row.items()} for row in rows]


MEASURE_NAMES = ["mql", *(name for name, _ in _FUNNEL_MEASURES_SQL)]


def won_amounts(f: ReportFilter) -> dict[tuple[str, str], Decimal]:
    """(campaign, lead source) → the won amount of the funnel cohort's marketing-sourced
    leads (those with a marketing team): the sum of the amounts of their CRM deals whose
    stage the deal's connector maps to won (its stage table, as the sync reads it), as the
    CRM gives them (one currency assumed). Two queries, whatever the number of deals."""
    cohort = funnel_leads(f).filter(marketing_team__isnull=False).values("pk")
    sums: dict[tuple[str, str], Decimal] = {}
    for _, amount, campaign, source in _won_deals(cohort, "lead__campaign", "lead__lead_source"):
        key = (campaign or "", source or "")
        sums[key] = sums.get(key, NO_AMOUNT) + amount
    return sums


def won_amount_by_lead(leads) -> dict[int, Decimal]:
    """Lead id → the amount of its won CRM deals (the rule of `won_amounts`), for the leads
    of `leads` (ids or a values("pk") queryset). Two queries."""
    sums: dict[int, Decimal] = {}
    for lead_id, amount in _won_deals(leads):
        sums[lead_id] = sums.get(lead_id, NO_AMOUNT) + amount
    return sums


def _won_deals(leads, *fields: str):
    """(lead id, amount, *fields) of the won deals with an amount of `leads`: a deal is won
    when its connector's stage table maps its CRM stage to won."""
    from connectors.models import Connector, Deal

    won = {
        pk: {
            crm
            for crm, stage in ((settings or {}).get("stage_map") or {}).items()
            if stage == "won"
        }
        for pk, settings in Connector.objects.values_list("pk", "settings")
    }
    deals = Deal.objects.filter(lead__in=leads, amount__isnull=False).values_list(
        "connector_id", "crm_stage", "lead_id", "amount", *fields
    )
    for connector_id, crm_stage, *row in deals:
        if crm_stage in won.get(connector_id, ()):
            yield tuple(row)


def funnel_all(f: ReportFilter) -> dict[str, tuple[list[FunnelRow], FunnelRow]]:
    """The funnel by campaign and by lead source, with totals, from ONE query grouped by
    (campaign, lead source); the groups (not the leads) are then added up here, and so is
    the won amount (`won_amounts`)."""
    cells = _funnel_counts(f, FUNNEL_GROUPS)
    amounts = won_amounts(f) if cells else {}
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
        won: dict[str, Decimal] = {}
        for (campaign, source), amount in amounts.items():
            group = campaign if by == "campaign" else source
            won[group] = won.get(group, NO_AMOUNT) + amount
        rows = [FunnelRow(g, groups[g], won.get(g, NO_AMOUNT)) for g in sorted(groups)]
        total_row = FunnelRow("Total", dict(total), sum(amounts.values(), NO_AMOUNT))
        result[by] = (rows, total_row)
    return result


def funnel(f: ReportFilter, by: str) -> tuple[list[FunnelRow], FunnelRow]:
    """Funnel rows grouped by campaign or lead source, and the total (one query)."""
    if by not in FUNNEL_GROUPS:
        raise ValueError(f"Unknown funnel grouping {by!r}.")
    return funnel_all(f)[by]


@dataclass(frozen=True)
class StageRates:
    """The closed-loop stage conversions of a cohort, as the quota calculator reads them:
    MQL → SAL, SAL → SQL and SQL → won (%), with the counts they come from."""

    mqls: int
    sals: int
    sqls: int
    won: int

    @property
    def mql_to_sal_pct(self) -> float | None:
        return pct(self.sals, self.mqls)

    @property
    def sal_to_sql_pct(self) -> float | None:
        return pct(self.sqls, self.sals)

    @property
    def sql_to_won_pct(self) -> float | None:
        return pct(self.won, self.sqls)


def stage_rates(f: ReportFilter) -> StageRates:
    """The cohort that entered the funnel in the range, followed up to `now` (one query,
    the funnel's own count: a stage counts every lead that reached it or a later one)."""
    total = funnel_all(f)["campaign"][1].counts
    return StageRates(total["mql"], total["sal"], total["sql"], total["won"])
