"""The monthly review pack of an agreement: what the review page (reports/review/) shows and
what a joint review's agenda is built from (agreements/reviews.py, docs/agreements.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from agreements.models import Agreement, AgreementVersion
from leads.models import RejectionContest
from reports import metrics, tables
from reports.goals import GoalProgress, goal_progress
from reports.scorecard import Scorecard, scorecard
from reports.selectors import agreements_filter, local_midnight


@dataclass
class ReviewPack:
    agreement: Agreement
    month: date
    card: Scorecard
    trend: tables.Table
    breaches: tables.Table
    disputes: tables.Table
    breach_rows: list[dict]
    disputes_open: int


@dataclass
class Agenda:
    """A joint review's agenda: the pack, the contested rejections still undecided, every
    goal's progress and the amendments awaiting signatures."""

    pack: ReviewPack
    contests: list[RejectionContest]
    goals: list[GoalProgress]
    amendments: list[AgreementVersion]


def review_pack(agreement: Agreement, *, month: date, now: datetime) -> ReviewPack:
    """The month's scorecard, the six months' compliance trend, the month's breaches by
    cause and the disputes still open, from the reports' metric code."""
    tz = metrics.agreement_tz(agreement)
    start = local_midnight(month, tz)
    this_month = metrics.recent_periods("month", start, tz, 1)[-1]
    # Built as the report pages build theirs (closed days from the rollups), so the pack's
    # trend shows the compliance page's figure for the same month.
    f = agreements_filter(
        [agreement],
        now=now,
        start=metrics.recent_periods("month", start, tz, 6)[0].start.date(),
        end=(this_month.end - timedelta(microseconds=1)).date(),
    )
    month_f = replace(f, start=this_month.start)
    with metrics.report_reads():
        # The clock counts by clause and the dispositions read once: the scorecard's three
        # months are the trend's last three, and a kind's clauses add up to its figure.
        by_clause = metrics.clock_days(f, by=("clause",))
        days = metrics.DayCounts(
            metrics.kind_days(by_clause), metrics.disposition_days(f), metrics.ttft_summary(f)
        )
        trend = tables.trend_table(metrics.trend(f, "month", days), "month")
        breach_rows = metrics.breaches_by_cause(month_f)
        disputes = list(metrics.open_disputes(f))
    card = scorecard(
        agreement,
        now=now,
        count=3,
        at=start,
        clause_days=by_clause,
        dispositions=days.dispositions,
    )
    return ReviewPack(
        agreement=agreement,
        month=month,
        card=card,
        trend=trend,
        breaches=tables.breaches_table(breach_rows),
        disputes=tables.disputes_table(disputes, tz),
        breach_rows=breach_rows,
        disputes_open=len(disputes),
    )


def review_agenda(agreement: Agreement, *, month: date, now: datetime) -> Agenda:
    contests = list(
        RejectionContest.objects.filter(decision="", lead__sales_team_id=agreement.sales_team_id)
        .select_related("lead", "contested_by")
        .order_by("contested_at", "id")
    )
    amendments = list(
        agreement.versions.filter(
            status__in=(AgreementVersion.Status.DRAFT, AgreementVersion.Status.PROPOSED)
        )
        .prefetch_related("signatures")
        .order_by("number")
    )
    goals = [goal_progress(goal, now) for goal in agreement.goals.select_related("owner")]
    return Agenda(
        pack=review_pack(agreement, month=month, now=now),
        contests=contests,
        goals=goals,
        amendments=amendments,
    )
