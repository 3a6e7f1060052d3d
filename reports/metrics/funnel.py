"""The closed-loop funnel: the cohort that entered it in the range, followed up to `now`."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from django.core.exceptions import EmptyResultSet
from django.db import connection

from reports.metrics.filters import FUNNEL_GROUPS, ReportFilter, pct
from reports.metrics.live import (
    FACT_COLUMNS,
    FACT_FLAGS,
    FUNNEL_STEPS,
    _funnel_candidates,
    funnel_facts_sql,
)
from reports.models import FunnelLead, StaleLead


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
        return f"SELECT * FROM ({sql}) live WHERE entered_at >= %s AND entered_at < %s", [  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
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
        f"NOT EXISTS (SELECT 1 FROM {qn(StaleLead._meta.db_table)} s WHERE s.lead_id = r.lead_id)",  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
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
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
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
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
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
