"""The mutual scorecard: each side's commitments in plain sentences, with their compliance
per period (current and past) and the trend, side by side. Numbers come from reports.metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agreements.models import Agreement, AgreementVersion, Commitment, Side
from agreements.periods import Period
from agreements.wording import commitment_sentence
from reports import metrics, rollups
from reports.metrics import ReportFilter

Kind = Commitment.Kind


@dataclass
class Score:
    value: float | None  # a percentage
    detail: str = ""
    ok: bool | None = None  # kept (True), not kept (False), not judged (None)
    running: bool = False  # a quota period still running: its number is not final
    earlier_terms: list[str] = field(default_factory=list)  # other versions' wording then


@dataclass
class ScoreLine:
    side: str
    kind: str
    sentence: str
    scores: list[Score]
    total: bool = False  # all clauses of one kind added up

    @property
    def trend(self) -> str:
        """'up', 'down' or 'flat' from the last two periods with a final number; '' with fewer
        (a quota period still running is left out: its count is not final)."""
        values = [s.value for s in self.scores if s.value is not None and not s.running]
        if len(values) < 2:
            return ""
        last, before = values[-1], values[-2]
        return "up" if last > before else "down" if last < before else "flat"


@dataclass
class Scorecard:
    agreement: Agreement
    version: AgreementVersion | None
    periods: list[Period]
    lines: list[ScoreLine] = field(default_factory=list)

    def side(self, side: str) -> list[ScoreLine]:
        return [line for line in self.lines if line.side == side]

    @property
    def sales(self) -> list[ScoreLine]:
        return self.side(Side.SALES)

    @property
    def marketing(self) -> list[ScoreLine]:
        return self.side(Side.MARKETING)


def _period_filter(agreement: Agreement, periods: list[Period], now: datetime) -> ReportFilter:
    tz = metrics.agreement_tz(agreement)
    rolled_until, funnel_rolled = rollups.coverage((agreement.sales_team_id,), tz)
    return ReportFilter(
        start=periods[0].start,
        end=periods[-1].end,
        now=now,
        agreement_ids=(agreement.pk,),
        sales_team_ids=(agreement.sales_team_id,),
        tz=tz,
        rolled_until=rolled_until,
        funnel_rolled=funnel_rolled,
    )


def scorecard(agreement: Agreement, *, now: datetime, count: int = 3, at: datetime | None = None):
    with metrics.report_reads():
        return _scorecard(agreement, now=now, count=count, at=at)


def _scorecard(agreement: Agreement, *, now: datetime, count: int, at: datetime | None):
    """The scorecard of the agreement's active version for the month holding `at` (default
    `now`) and the `count - 1` months before it."""
    tz = metrics.agreement_tz(agreement)
    periods = metrics.recent_periods("month", at or now, tz, count)
    version = agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first()
    card = Scorecard(agreement, version, periods)
    if version is None:
        return card
    f = _period_filter(agreement, periods, now)
    keys = [p.start.date() for p in periods]
    clauses = metrics.clause_compliance(f, "month")
    volume = metrics.period_results(f)
    acceptance = metrics.acceptance_trend(f, "month")
    commitments = version.commitments.order_by("kind", "order", "id")
    earlier = _earlier_terms(agreement, version, commitments, periods)
    for c in sorted(commitments, key=lambda c: (c.side != Side.SALES, c.kind, c.order)):
        scores = []
        for index, (key, period) in enumerate(zip(keys, periods, strict=True)):
            if c.kind in metrics.SALES_KINDS:
                cc = clauses.get((key, c.kind, c.order), metrics.ClockCompliance(c.kind))
                scores.append(
                    Score(cc.pct, f"{cc.met} of {cc.decided} on time" if cc.decided else "")
                )
            elif c.kind == Kind.LEAD_VOLUME:
                rows = [
                    r for r in volume if r.order == c.order and period.start <= r.start < period.end
                ]
                target = sum(r.target or 0 for r in rows)
                actual = sum(r.actual or 0 for r in rows)
                running = any(r.status == "running" for r in rows)
                scores.append(
                    Score(
                        metrics.pct(actual, target),
                        f"{actual} of {target}{' so far' if running else ''}" if rows else "",
                        None if running or not rows else actual >= target,
                        running=running,
                    )
                )
            else:
                a = acceptance.get(key) or metrics.Acceptance()
                judged = a.dispositioned >= c.min_sample and a.pct is not None
                scores.append(
                    Score(
                        a.pct,
                        f"{a.accepted} of {a.dispositioned} accepted" if a.dispositioned else "",
                        (a.pct >= c.min_acceptance_pct) if judged else None,
                    )
                )
            scores[-1].earlier_terms = earlier.get((index, c.kind, c.order), [])
        card.lines.append(ScoreLine(c.side, c.kind, commitment_sentence(c), scores))
    card.lines[len(card.sales) : len(card.sales)] = _kind_totals(clauses, keys)
    return card


TOTAL_LABELS = {
    Kind.FIRST_TOUCH: "All first-touch clocks",
    Kind.FOLLOW_UP: "All follow-up attempt clocks",
    Kind.DISPOSITION: "All disposition clocks",
}


def _kind_totals(clauses: dict, keys: list) -> list[ScoreLine]:
    """Per kind, every clause's clocks of the month (those of clauses no longer in the active
    version too): the compliance page's figure for the same month."""
    lines = []
    for kind in metrics.SALES_KINDS:
        scores = []
        for key in keys:
            total = metrics.ClockCompliance(kind)
            for (month, k, _), cc in clauses.items():
                if month == key and k == kind:
                    total.decided += cc.decided
                    total.met += cc.met
            detail = f"{total.met} of {total.decided} on time" if total.decided else ""
            scores.append(Score(total.pct, detail))
        lines.append(ScoreLine(Side.SALES, kind, TOTAL_LABELS[kind], scores, total=True))
    return lines


def _earlier_terms(
    agreement: Agreement, version: AgreementVersion, commitments, periods: list[Period]
) -> dict[tuple[int, str, int], list[str]]:
    """For each period and clause (kind, order), the wording of other versions in force
    during that period where it differs from the active version's: a month's figures are
    the clocks under the terms they started with, so the card says which terms those were."""
    current = {(c.kind, c.order): commitment_sentence(c) for c in commitments}
    others = (
        agreement.versions.filter(activated_at__isnull=False)
        .exclude(pk=version.pk)
        .order_by("number")
        .prefetch_related("commitments")
    )
    notes: dict[tuple[int, str, int], list[str]] = {}
    for other in others:
        for index, period in enumerate(periods):
            ended = other.ended_at is not None and other.ended_at <= period.start
            if other.activated_at >= period.end or ended:
                continue
            for c in other.commitments.all():
                sentence = commitment_sentence(c)
                if sentence != current.get((c.kind, c.order)):
                    also = version.activated_at is not None and version.activated_at < period.end
                    notes.setdefault((index, c.kind, c.order), []).append(
                        f"{'Also under' if also else 'Under'} v{other.number}: {sentence}"
                    )
    return notes


def month_bounds(card: Scorecard) -> tuple[datetime, datetime]:
    last = card.periods[-1]
    return last.start, last.end - timedelta(microseconds=1)
