"""Report tables: built once from the metrics, rendered by the pages and written by the CSV
exports, so both show the same numbers. Each figure may link to the leads behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.urls import reverse

from agreements.kinds import KINDS, LEAD_KINDS
from agreements.kinds import label as kind_label
from agreements.periods import period_containing
from leads.models import FUNNEL
from reports import metrics
from reports.metrics import ReportFilter
from slahub.csv_export import csv_text

KIND_LABELS = {code: KINDS[code].compliance_label for code in LEAD_KINDS}
STAGE_LABELS = {
    "mql": "MQL",
    "sal": "SAL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}


@dataclass(frozen=True)
class Minutes:
    """Elapsed minutes as people read them: 954.3 → '15 h 54 min', 2.5 → '2 min 30 s'."""

    value: float

    def __str__(self) -> str:
        seconds = round(self.value * 60)
        if seconds < 60:
            return f"{seconds} s"
        minutes, rest = divmod(seconds, 60)
        if minutes < 10:
            return f"{minutes} min {rest} s" if rest else f"{minutes} min"
        minutes = round(seconds / 60)
        hours, minutes = divmod(minutes, 60)
        if not hours:
            return f"{minutes} min"
        days, hours = divmod(hours, 24)
        if days:
            return f"{days} d {hours} h" if hours else f"{days} d"
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def number(value):
    """A cell's value for a chart: minutes as their number (the chart's axis says min)."""
    return value.value if isinstance(value, Minutes) else value


def minutes(value: float | None) -> Minutes | None:
    return None if value is None else Minutes(value)


def text(value) -> str:
    """How a value reads, the same on the page and in the CSV (empty when unknown)."""
    if value is None:
        return ""
    if isinstance(value, Minutes):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class Cell:
    value: object
    link: str = ""

    @property
    def text(self) -> str:
        return text(self.value)


def day_label(day: date) -> str:
    """'Mon 3 Nov'."""
    return f"{day:%a} {day.day} {day:%b}"


def period_label(start: date, grain: str) -> str:
    """A week or month as people read it: '3–9 Nov', '27 Oct–2 Nov', 'Nov 2026'."""
    if grain == "month":
        return f"{start:%b %Y}"
    if grain != "week":
        return day_label(start)
    end = start + timedelta(days=6)
    if end.month == start.month:
        return f"{start.day}–{end.day} {end:%b}"
    return f"{start.day} {start:%b}–{end.day} {end:%b}"


METRIC_WORDS = {
    **{kind: kind_label(kind) for kind in LEAD_KINDS},
    "ttft": "Time to first touch",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "volume": "Lead volume",
    "funnel": "Funnel",
}
OUTCOME_WORDS = {
    "decided": "all clocks due",
    "met": "kept",
    "missed": "missed",
    "made": "attempts made",
    **{stage: label for stage, label in STAGE_LABELS.items()},
    "recycled": "recycled",
    "rejected": "rejected",
    "sla_kept": "first touch in the SLA",
    "sla_missed": "first touch not in the SLA",
}


def drilldown_title(which: dict) -> str:
    """The figure behind a drill-down in words: 'First touch · missed', never its codes."""
    metric = which["metric"]
    parts = [METRIC_WORDS.get(metric, metric)]
    if metric in LEAD_KINDS or metric == "funnel":
        parts.append(OUTCOME_WORDS.get(which["outcome"], which["outcome"]))
    if which.get("bucket"):
        buckets = {key: label for key, label, *_ in metrics.TTFT_BUCKETS}
        parts.append(buckets.get(which["bucket"], "not touched"))
    if which.get("reason"):
        parts.append(f"“{which['reason']}”")
    if which.get("by"):
        by = "campaign" if which["by"] == "campaign" else "lead source"
        parts.append(f"{by} “{which.get('group') or '(none)'}”")
    return " · ".join(parts)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""

    def add(self, *cells) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell(c) for c in cells])

    def csv(self) -> str:
        """The table as CSV, through the one writer that neutralises formula cells."""
        return csv_text(self.columns, ([cell.text for cell in row] for row in self.rows))


class Links:
    """Links to the lead list, carrying the report's filter."""

    def __init__(self, query: dict[str, str]):
        self.query = query
        self.base = reverse("reports:leads")

    def __call__(self, **params) -> str:
        params = {k: v for k, v in params.items() if v is not None}
        return f"{self.base}?{urlencode({**self.query, **params})}"


def sales_table(compliance: dict[str, metrics.ClockCompliance], link: Links) -> Table:
    table = Table(
        "sales",
        "Sales compliance",
        ["Commitment", "Clocks due", "Kept", "Not kept", "Compliance %"],
    )
    for kind in metrics.SALES_KINDS:
        c = compliance[kind]
        table.add(
            KIND_LABELS[kind],
            Cell(c.decided, link(metric=kind, outcome="decided")),
            Cell(c.met, link(metric=kind, outcome="met")),
            Cell(c.missed, link(metric=kind, outcome="missed")),
            c.pct,
        )
        if kind == "follow_up":
            table.add(
                "Follow-up attempts made (of those promised)",
                Cell(c.decided, link(metric=kind, outcome="decided")),
                Cell(c.made, link(metric=kind, outcome="made")),
                c.decided - c.made,
                c.made_pct,
            )
    return table


def ttft_tables(t: metrics.TimeToFirstTouch, link: Links) -> list[Table]:
    summary = Table(
        "ttft",
        "Time to first touch (elapsed time)",
        ["First-touch clocks", "Touched", "Not touched", "Median", "90th percentile"],
    )
    summary.add(
        Cell(t.clocks, link(metric="ttft")),
        t.touched,
        Cell(t.untouched, link(metric="ttft", bucket=metrics.UNTOUCHED)),
        minutes(t.median_minutes),
        minutes(t.p90_minutes),
    )
    histogram = Table(
        "histogram", "Time to first touch: histogram", ["Time to first touch", "Leads"]
    )
    for key, label, count in t.histogram:
        histogram.add(label, Cell(count, link(metric="ttft", bucket=key)))
    return [summary, histogram]


def acceptance_table(a: metrics.Acceptance, link: Links) -> Table:
    table = Table(
        "acceptance",
        "Acceptance rate against its floor",
        ["Accepted", "Rejected", "Acceptance %", "Floor %", "Minimum sample", "Below floor"],
    )
    table.add(
        Cell(a.accepted, link(metric="accepted")),
        Cell(a.rejected, link(metric="rejected")),
        a.pct,
        a.floor_pct,
        a.min_sample,
        a.below_floor if a.judged else "too few to judge" if a.floor_pct is not None else None,
    )
    return table


def reasons_table(reasons: list[tuple[str, int, float | None]], link: Links) -> Table:
    table = Table(
        "reasons", "Rejection reasons, most frequent first", ["Reason", "Rejections", "Share %"]
    )
    for reason, count, share in reasons:
        table.add(reason, Cell(count, link(metric="rejected", reason=reason)), share)
    return table


def volume_table(periods: list[metrics.PeriodResult], link: Links) -> Table:
    table = Table(
        "volume",
        "Lead volume: actual against target per period",
        [
            "Agreement",
            "Period",
            "From",
            "To",
            "Stage",
            "Target",
            "Actual",
            "Attainment %",
            "Status",
        ],
        note="Agreement-level: the rep, tier and lead-source filters do not apply.",
    )
    for p in periods:
        status = "running (at risk)" if p.at_risk else p.status
        table.add(
            Cell(p.agreement, reverse("agreement-detail", args=[p.agreement_id])),
            p.period,
            p.start.date(),
            (p.end - timedelta(microseconds=1)).date(),
            p.stage.upper(),
            p.target,
            Cell(p.actual, link(metric="volume", period=p.obligation_id)),
            p.attainment_pct,
            status,
        )
    return table


def _bucket_days(f: ReportFilter, grain: str, start: date) -> dict[str, str]:
    """The report's days inside one week or month, as link parameters."""
    first = datetime(start.year, start.month, start.day, tzinfo=f.tz)
    period = period_containing(grain, first, f.tz)
    last = (period.end - timedelta(days=1)).date()
    return {
        "start": max(start, f.first_day).isoformat(),
        "end": min(last, f.last_day).isoformat(),
    }


def trend_table(
    points: list[metrics.TrendPoint],
    grain: str,
    f: ReportFilter | None = None,
    link: Links | None = None,
) -> Table:
    table = Table(
        f"trend_{grain}",
        f"Trend by {grain}",
        [
            grain.capitalize(),
            "First touch %",
            "First-touch clocks",
            "Follow-up on time %",
            "Attempts made %",
            "Disposition %",
            "Median first touch",
            "Acceptance %",
            "Dispositions",
        ],
    )
    for p in points:
        clocks = Cell(p.first_touch.decided)
        if f is not None and link is not None:
            days = _bucket_days(f, grain, p.start)
            clocks.link = link(metric="first_touch", outcome="decided", **days)
        table.add(
            p.start,
            p.first_touch.pct,
            clocks,
            p.follow_up.pct,
            p.follow_up.made_pct,
            p.disposition.pct,
            minutes(p.ttft_median_minutes),
            p.acceptance.pct,
            p.acceptance.dispositioned,
        )
    return table


def funnel_table(
    rows: list[metrics.FunnelRow], total: metrics.FunnelRow, by: str, link: Links
) -> Table:
    title = "campaign" if by == "campaign" else "lead source"
    columns = [title.capitalize()]
    columns += [STAGE_LABELS[s] for s in FUNNEL]
    columns += ["SAL/MQL %", "SQL/SAL %", "Opp./SQL %", "Won/Opp. %", "Won/MQL %"]
    columns += ["Recycled", "Rejected", "Won amount"]
    table = Table(f"funnel_{by}", f"Closed-loop funnel by {title}", columns)
    for row in [*rows, total]:
        cell = _funnel_cell(row, total, by, link)
        rates = row.conversions
        table.add(
            _group_label(row, total),
            *(cell(s) for s in FUNNEL),
            *(rates[s] for s in FUNNEL[1:]),
            rates["overall"],
            cell("recycled"),
            cell("rejected"),
            row.won_amount,
        )
    return table


def _group_label(row: metrics.FunnelRow, total: metrics.FunnelRow) -> str:
    return row.group if row is total else (row.group or "(none)")


def _funnel_cell(row, total, by: str, link: Links):
    group = {"group": row.group, "by": by} if row is not total else {}

    def cell(measure: str) -> Cell:
        return Cell(row.counts[measure], link(metric="funnel", outcome=measure, **group))

    return cell


def sla_table(
    rows: list[metrics.FunnelRow], total: metrics.FunnelRow, by: str, link: Links
) -> Table:
    """Do leads touched within the SLA convert better? The same cohort as the funnel."""
    title = "campaign" if by == "campaign" else "lead source"
    table = Table(
        f"sla_{by}",
        f"First touch in the SLA and conversion, by {title}",
        [
            title.capitalize(),
            "First touch in SLA %",
            "SLA kept (leads)",
            "→ SQL % (kept)",
            "→ Won % (kept)",
            "SLA missed (leads)",
            "→ SQL % (missed)",
            "→ Won % (missed)",
        ],
        note="SLA kept: every first-touch clock of the lead was met; missed: at least one was "
        "breached or is overdue. Leads without a decided first-touch clock are in neither.",
    )
    for row in [*rows, total]:
        cell = _funnel_cell(row, total, by, link)
        table.add(
            _group_label(row, total),
            row.sla_pct,
            cell("sla_kept"),
            row.kept_to_sql_pct,
            row.kept_to_won_pct,
            cell("sla_missed"),
            row.missed_to_sql_pct,
            row.missed_to_won_pct,
        )
    return table


def compliance_tables(f: ReportFilter, query: dict[str, str]) -> dict[str, Table]:
    """Every table of the compliance report (about a dozen queries in all)."""
    link = Links(query)
    with metrics.report_reads():
        return _compliance_tables(f, link)


def _compliance_tables(f: ReportFilter, link: Links) -> dict[str, Table]:
    days = metrics.day_counts(f)
    tables = [
        sales_table(metrics.sales_compliance(f, days), link),
        *ttft_tables(metrics.time_to_first_touch(f, days), link),
        acceptance_table(metrics.acceptance(f, days), link),
        reasons_table(metrics.rejection_reasons(f), link),
        volume_table(metrics.period_results(f), link),
        trend_table(metrics.trend(f, "week", days), "week", f, link),
        trend_table(metrics.trend(f, "month", days), "month", f, link),
    ]
    return {t.key: t for t in tables}


def funnel_tables(f: ReportFilter, query: dict[str, str]) -> dict[str, Table]:
    link = Links(query)
    tables = []
    with metrics.report_reads():
        for by, (rows, total) in metrics.funnel_all(f).items():
            tables += [funnel_table(rows, total, by, link), sla_table(rows, total, by, link)]
    return {t.key: t for t in tables}


# Scorecard and review pack ----------------------------------------------------------------

TREND_WORDS = {"up": "better", "down": "worse", "flat": "same", "kept": "kept both", "": ""}


def scorecard_table(card) -> Table:
    """The scorecard as one table (both sides), for the CSV export of the scorecard."""
    months = [p.start.date().strftime("%b %Y") for p in card.periods]
    columns = ["Side", "Commitment"]
    for month in months:
        columns += [f"{month} %", f"{month} detail", f"{month} terms"]
    table = Table("scorecard", "Mutual scorecard", [*columns, "Trend"])
    for line in card.lines:
        cells = [line.side, line.sentence]
        for score in line.scores:
            named = score.version + (f": {score.terms}" if score.terms else "")
            terms = "; ".join(t for t in (named, *score.notes) if t)
            cells += [score.value, score.detail, terms]
        table.add(*cells, TREND_WORDS[line.trend])
    return table


def rep_url(user_id: int) -> str:
    """The compliance report filtered to one rep."""
    return f"{reverse('reports:compliance')}?{urlencode({'rep': user_id})}"


def breaches_table(rows: list[dict]) -> Table:
    table = Table(
        "breaches",
        "Breaches by cause",
        ["Side", "Cause", "Breaches", "Open", "Acknowledged", "Disputed", "Upheld", "Waived"],
    )
    for r in rows:
        table.add(
            r["side"].capitalize(),
            kind_label(r["kind"]),
            r["total"],
            r["open"],
            r["acknowledged"],
            r["disputed"],
            r["upheld"],
            r["waived"],
        )
    return table


def disputes_table(disputes, tz) -> Table:
    table = Table("disputes", "Open disputes", ["Breach", "Side", "Due", "Disputed by", "Reason"])
    for b in disputes:
        who = b.disputed_by and (b.disputed_by.get_full_name() or b.disputed_by.username)
        table.add(
            Cell(
                f"{b.get_kind_display()}{' — ' + b.lead.name if b.lead else ''}",
                reverse("breach-detail", args=[b.pk]),
            ),
            b.get_side_display(),
            f"{b.due_at.astimezone(tz):%Y-%m-%d %H:%M %Z}",
            # A sales person's name opens their compliance (marketing has no rep filter).
            Cell(who, rep_url(b.disputed_by_id) if who and b.side == "sales" else ""),
            b.dispute_reason,
        )
    return table
