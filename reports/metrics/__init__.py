"""The one definition of every report figure (see docs/metrics.md for the rules in words).

Pages, the API, CSV exports and emails all call these functions; nothing else computes a
report number. Every figure is aggregated in the database (a few queries per report, never a
Python loop over leads); `leads_behind` gives the leads behind any figure, filtered the same way.
Closed days and the funnel's per-lead facts are read from the rollups the checks keep
(`reports.refresh` fills them with the live queries, grouped finer; see docs/metrics.md).

By concern:
- `filters`: what a report covers (`ReportFilter`), `pct`, `report_reads`, calendar cuts;
- `live`: the live queries, the rule of every figure (the rollups are written with them);
- `source`: closed days from the rollups, the rest live;
- `sales`, `marketing`, `trends`, `funnel`: the figures;
- `drilldown`: the leads behind a figure; `breaches`: breaches for the review pack.

Conventions
- A report covers [start, end) and is judged at `now` (an input, like everywhere else).
- A lead clock (obligation) belongs to the range its `due_at` falls in. It is *decided* when
  met, breached, or still open past its due time at `now` (overdue: missed, even before the
  deadline scan records the breach). Open clocks not yet due and cancelled clocks do not count.
- Rep attribution is the obligation's user: whoever owned the lead when the clock was met or
  fell due (reassigning moves open clocks, breaches stay with the owner at due time).
"""

from reports.metrics.breaches import (
    breaches_by_cause,
    open_disputes,
)
from reports.metrics.drilldown import (
    DISPOSITIONS,
    FUNNEL_MEASURES,
    OUTCOMES,
    leads_behind,
)
from reports.metrics.filters import (
    FUNNEL_GROUPS,
    GRAINS,
    SALES_KINDS,
    Kind,
    ReportFilter,
    Status,
    agreement_tz,
    buckets,
    pct,
    recent_periods,
    report_reads,
)
from reports.metrics.funnel import (
    MEASURE_NAMES,
    FunnelRow,
    StageRates,
    funnel,
    funnel_all,
    stage_rates,
    won_amount_by_lead,
)
from reports.metrics.live import (
    CLOCK_DIMENSIONS,
    DISPOSITION_DIMENSIONS,
    FACT_COLUMNS,
    FACT_FLAGS,
    FUNNEL_STEPS,
    SLA_KEPT,
    SLA_MISSED,
    TTFT_BUCKETS,
    TTFT_EDGES,
    UNTOUCHED,
    EpochSeconds,
    clock_rows,
    disposition_rows,
    first_touch_delays,
    funnel_facts_sql,
    funnel_leads,
    lead_clocks,
)
from reports.metrics.marketing import (
    NO_REASON,
    Acceptance,
    PeriodResult,
    acceptance,
    acceptance_trend,
    period_results,
    reached_per_day,
    rejection_reasons,
)
from reports.metrics.sales import (
    DayCounts,
    TimeToFirstTouch,
    TtftSummary,
    clause_compliance,
    day_counts,
    percentile,
    sales_compliance,
    time_to_first_touch,
    ttft_summary,
)
from reports.metrics.source import (
    ClockCompliance,
    clock_days,
    disposition_counts,
    disposition_days,
    kind_days,
    rolled_through,
)
from reports.metrics.trends import (
    TrendPoint,
    trend,
)

__all__ = [
    "TTFT_BUCKETS",
    "TTFT_EDGES",
    "Acceptance",
    "CLOCK_DIMENSIONS",
    "ClockCompliance",
    "DISPOSITIONS",
    "DISPOSITION_DIMENSIONS",
    "DayCounts",
    "EpochSeconds",
    "FACT_COLUMNS",
    "FACT_FLAGS",
    "FUNNEL_GROUPS",
    "FUNNEL_MEASURES",
    "FUNNEL_STEPS",
    "FunnelRow",
    "GRAINS",
    "Kind",
    "MEASURE_NAMES",
    "NO_REASON",
    "OUTCOMES",
    "PeriodResult",
    "ReportFilter",
    "SALES_KINDS",
    "SLA_KEPT",
    "SLA_MISSED",
    "StageRates",
    "Status",
    "TimeToFirstTouch",
    "TrendPoint",
    "TtftSummary",
    "UNTOUCHED",
    "acceptance",
    "acceptance_trend",
    "agreement_tz",
    "breaches_by_cause",
    "buckets",
    "clause_compliance",
    "clock_days",
    "clock_rows",
    "day_counts",
    "disposition_counts",
    "disposition_days",
    "disposition_rows",
    "kind_days",
    "first_touch_delays",
    "funnel",
    "funnel_all",
    "funnel_facts_sql",
    "funnel_leads",
    "lead_clocks",
    "leads_behind",
    "open_disputes",
    "pct",
    "percentile",
    "period_results",
    "reached_per_day",
    "recent_periods",
    "rejection_reasons",
    "report_reads",
    "rolled_through",
    "sales_compliance",
    "stage_rates",
    "time_to_first_touch",
    "trend",
    "ttft_summary",
    "won_amount_by_lead",
]
