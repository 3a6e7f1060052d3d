"""Progress of a shared goal, read with the reports' own metric code (docs/agreements.md,
"Shared goals"): the goal page, the API, check-ins and the monthly review all call
`goal_progress`, so a goal never shows a number the report pages would not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from agreements.models import Goal
from agreements.periods import Period, period_containing
from leads.selectors import leads_reaching_stage
from reports import metrics
from reports.selectors import agreements_filter, local_midnight


@dataclass(frozen=True)
class GoalMetric:
    label: str
    unit: str  # "%" or "" (a count)
    stage: str = ""  # counts: the funnel stage first reached in the period


# The measured metrics a goal may aim at, by their name in docs/metrics.md.
GOAL_METRICS: dict[str, GoalMetric] = {
    "sal_count": GoalMetric("SALs (leads accepted by sales)", "", "sal"),
    "sql_count": GoalMetric("SQLs", "", "sql"),
    "first_touch_pct": GoalMetric("First-touch compliance", "%"),
    "acceptance_pct": GoalMetric("Acceptance rate", "%"),
    "won_count": GoalMetric("Won deals from marketing-sourced leads", "", "won"),
    "won_amount": GoalMetric("Won revenue from marketing-sourced leads", "", "won"),
}

# A goal page shows at most this many periods, the latest ones.
MAX_PERIODS = 12


@dataclass(frozen=True)
class GoalPoint:
    period: Period
    value: float | None  # None: nothing to judge (a percentage with a zero denominator)

    @property
    def start(self) -> date:
        """The period's first local day."""
        return self.period.start.date()

    @property
    def label(self) -> str:
        start = self.period.start.date()
        if self.period.kind == "month":
            return f"{start:%b %Y}"
        if self.period.kind == "quarter":
            return f"Q{(start.month - 1) // 3 + 1} {start.year}"
        return f"Week of {start:%d %b %Y}"


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    metric: GoalMetric | None
    points: list[GoalPoint]  # oldest first; the last holds `now` (or is the goal's last)
    now: datetime

    @property
    def target(self) -> float:
        return float(self.goal.target)

    @property
    def current(self) -> GoalPoint | None:
        return self.points[-1] if self.points else None

    @property
    def value(self) -> float | None:
        return self.current.value if self.current else None

    @property
    def attainment_pct(self) -> float | None:
        """The current period's value ÷ target, in percent."""
        if self.value is None or not self.target:
            return None
        return round(100.0 * self.value / self.target, 1)

    @property
    def reached(self) -> bool | None:
        return None if self.value is None else self.value >= self.target

    def chart(self) -> dict:
        """Chart data: the value per period and the target as a flat, dashed line."""
        return {
            "type": "line",
            "labels": [p.label for p in self.points],
            "series": [
                {
                    "label": self.metric.label if self.metric else self.goal.metric,
                    "data": [p.value for p in self.points],
                },
                {"label": "Target", "data": [self.target] * len(self.points), "dashed": True},
            ],
        }


def _periods(goal: Goal, now: datetime, tz) -> list[Period]:
    """The goal's periods from its start up to the one holding `now` (or its last)."""
    last_day = goal.ends_on or now.astimezone(tz).date()
    last_day = min(last_day, now.astimezone(tz).date())
    if last_day < goal.starts_on:
        return []
    period = period_containing(goal.period, local_midnight(goal.starts_on, tz), tz)
    end = period_containing(goal.period, local_midnight(last_day, tz), tz)
    periods = [period]
    while period.start < end.start:
        period = period.next()
        periods.append(period)
    return periods[-MAX_PERIODS:]


def _bucket(periods: list[Period], day: date) -> int | None:
    for i, period in enumerate(periods):
        if period.start.date() <= day < period.end.date():
            return i
    return None


def goal_progress(goal: Goal, now: datetime) -> GoalProgress:
    """The goal's metric per period up to `now`, each figure as the reports count it: the
    counts are `leads_reaching_stage` (the quota check's selector: leads that first reached
    the stage in the period), the percentages the report filter's clock and disposition days.
    One query for the whole range (two when closed days come from the rollups)."""
    agreement = goal.agreement
    tz = metrics.agreement_tz(agreement)
    metric = GOAL_METRICS.get(goal.metric)
    periods = _periods(goal, now, tz)
    if metric is None or not periods:
        return GoalProgress(goal, metric, [GoalPoint(p, None) for p in periods], now)
    start, end = periods[0].start, periods[-1].end
    if metric.stage:
        reached = leads_reaching_stage(agreement, metric.stage, start, min(end, now))
        if metric.stage == "won":
            reached = reached.filter(lead__marketing_team_id=agreement.marketing_team_id)
        reached = list(reached)
        # Won revenue: each won lead adds its won deals' amounts (the funnel's won-amount
        # rule) to the period it was first won in; the counts add one a lead.
        weight = (
            metrics.won_amount_by_lead([row["lead_id"] for row in reached])
            if goal.metric == "won_amount"
            else None
        )
        counts = [0.0] * len(periods)
        for row in reached:
            i = _bucket(periods, row["first_reached"].astimezone(tz).date())
            if i is not None:
                counts[i] += 1.0 if weight is None else float(weight.get(row["lead_id"], 0))
        values: list[float | None] = list(counts)
    else:
        f = agreements_filter(
            [agreement], now=now, start=start.date(), end=end.date() - timedelta(days=1)
        )
        parts = [[0, 0] for _ in periods]
        with metrics.report_reads():
            if goal.metric == "first_touch_pct":
                for (day, kind), counts_of in metrics.clock_days(f).items():
                    i = _bucket(periods, day)
                    if kind == metrics.Kind.FIRST_TOUCH and i is not None:
                        parts[i][0] += counts_of.met
                        parts[i][1] += counts_of.decided
            else:
                for day, (accepted, rejected) in metrics.disposition_days(f).items():
                    i = _bucket(periods, day)
                    if i is not None:
                        parts[i][0] += accepted
                        parts[i][1] += rejected
                # As `metrics.acceptance`: a net of returned rejections never below zero.
                parts = [[a, a + max(r, 0)] for a, r in parts]
        values = [metrics.pct(part, whole) for part, whole in parts]
    return GoalProgress(
        goal, metric, [GoalPoint(p, v) for p, v in zip(periods, values, strict=True)], now
    )


def check_in_value(goal: Goal, now: datetime) -> Decimal | None:
    """The value a check-in records at `now`: the current period's figure."""
    value = goal_progress(goal, now).value
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))
