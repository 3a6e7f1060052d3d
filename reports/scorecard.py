"""The mutual scorecard: each side's commitments (clauses) in plain sentences, with their
compliance per month (current and past) under the terms in force then, and the trend, side by
side. Numbers come from reports.metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from agreements.models import Agreement, AgreementVersion, Commitment, Side
from agreements.periods import Period
from agreements.selectors import in_force
from agreements.wording import commitment_sentence
from reports import metrics, rollups, targets
from reports.metrics import ReportFilter

Kind = Commitment.Kind
SALES_TARGET = f"Target: {targets.SALES_TARGET_PCT}% of clocks on time"


@dataclass
class Score:
    value: float | None  # a percentage
    detail: str = ""
    ok: bool | None = None  # kept (True), not kept (False), not judged (None)
    running: bool = False  # a quota period still running: its number is not final
    version: str = ""  # the version whose terms the month was judged under, e.g. "v2"
    terms: str = ""  # those terms in words, when they differ from the line's sentence
    notes: list[str] = field(default_factory=list)  # other terms in force during the month

    @property
    def earlier_terms(self) -> list[str]:  # the terms a month was judged under, in words
        return ([f"Under {self.version}: {self.terms}"] if self.terms else []) + self.notes


@dataclass
class ScoreLine:
    side: str
    kind: str
    sentence: str
    scores: list[Score]
    clause: UUID | None = None
    in_force: bool = True  # the clause is part of the terms in force now
    total: bool = False  # all clauses of one kind added up
    target: str = ""  # the target a sales line is judged by (marketing's is in its sentence)

    @property
    def trend(self) -> str:
        """The last two periods with a final number (a quota period still running is left
        out), judged by the commitment's own target first: 'kept' when both kept it, 'up' or
        'down' when one kept it and the other did not, else by the number ('up', 'down',
        'flat'); '' with fewer than two."""
        scores = [s for s in self.scores if s.value is not None and not s.running]
        if len(scores) < 2:
            return ""
        last, before = scores[-1], scores[-2]
        if last.ok is True and before.ok is True:
            return "kept"  # 109% → 101% of a quota, met both months: not "worse"
        if last.ok is not None and before.ok is not None and last.ok != before.ok:
            return "up" if last.ok else "down"
        a, b = last.value, before.value
        return "up" if a > b else "down" if a < b else "flat"


@dataclass
class Scorecard:
    agreement: Agreement
    version: AgreementVersion | None  # the version in force now (else the last one shown)
    periods: list[Period]
    lines: list[ScoreLine] = field(default_factory=list)
    # Per period, the version in force at its start (or the first one to start in it).
    period_versions: list[AgreementVersion | None] = field(default_factory=list)

    @property
    def columns(self) -> list[tuple[Period, AgreementVersion | None]]:
        return list(zip(self.periods, self.period_versions, strict=True))

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


def scorecard(
    agreement: Agreement,
    *,
    now: datetime,
    count: int = 3,
    at: datetime | None = None,
    clause_days: dict | None = None,
    dispositions: dict | None = None,
):
    """`clause_days` and `dispositions`: the agreement's clock day counts by clause and its
    dispositions by day over a range holding the months shown, read already by the caller
    (the review pack reads them for its trend)."""
    with metrics.report_reads():
        return _scorecard(
            agreement,
            now=now,
            count=count,
            at=at,
            clause_days=clause_days,
            dispositions=dispositions,
        )


def _month_version(versions: list[AgreementVersion], period: Period):
    """The version whose terms a month is judged under: the one in force at its start, else
    the first to come into force during it."""
    at_start = in_force(versions, period.start)
    if at_start is not None:
        return at_start
    starting = [v for v in versions if period.start <= v.effective_at < period.end]
    return starting[0] if starting else None


def _scorecard(
    agreement: Agreement,
    *,
    now: datetime,
    count: int,
    at: datetime | None,
    clause_days: dict | None = None,
    dispositions: dict | None = None,
):
    """The scorecard for the month holding `at` (default `now`) and the `count - 1` months
    before it: one line per clause of the versions in force in those months, each month with
    the terms in force then (the version in force at its start) and the clause's figures of
    that month, whatever version each clock started under."""
    tz = metrics.agreement_tz(agreement)
    periods = metrics.recent_periods("month", at or now, tz, count)
    versions = list(
        agreement.versions.filter(
            status__in=AgreementVersion.SIGNED_STATUSES, effective_at__isnull=False
        )
        .order_by("effective_at", "number")
        .prefetch_related("commitments")
    )
    month_versions = [_month_version(versions, p) for p in periods]
    shown = [
        v
        for v in versions
        if v.effective_at < periods[-1].end
        and (v.ended_at is None or v.ended_at > periods[0].start)
        and v.effective_at != v.ended_at
    ]
    # The terms of reference: those in force at the end of the last month shown (now, if it
    # is still running), so a past month's review pack reads the terms of its own time.
    last_moment = min(now, periods[-1].end - timedelta(microseconds=1))
    current = in_force(versions, last_moment) or (shown[-1] if shown else None)
    card = Scorecard(agreement, current, periods, period_versions=month_versions)
    if not shown:
        return card
    f = _period_filter(agreement, periods, now)
    keys = [p.start.date() for p in periods]
    clauses = metrics.clause_compliance(f, "month", clause_days)
    volume = metrics.period_results(f)
    acceptance = metrics.acceptance_trend(f, "month", dispositions)
    commitment_of = {c.pk: (v, c) for v in versions for c in v.commitments.all()}

    # One line per clause; its sentence is the newest wording shown (the terms of reference
    # when the clause is still part of them).
    latest: dict[UUID, Commitment] = {}
    for v in shown:
        for c in v.commitments.all():
            latest[c.clause] = c
    in_force_now = {c.clause for c in current.commitments.all()} if current else set()

    def wording(v: AgreementVersion | None, clause: UUID) -> Commitment | None:
        if v is None:
            return None
        return next((c for c in v.commitments.all() if c.clause == clause), None)

    def order_key(c: Commitment):
        return (c.side != Side.SALES, c.kind, c.clause not in in_force_now, c.order)

    for c in sorted(latest.values(), key=order_key):
        sentence = commitment_sentence(c)
        scores = []
        for key, period, month_v in zip(keys, periods, month_versions, strict=True):
            terms = wording(month_v, c.clause)
            label = month_v.label if month_v else ""
            if c.kind in metrics.SALES_KINDS:
                cc = clauses.get((key, c.kind, c.clause), metrics.ClockCompliance(c.kind))
                score = _clock_score(cc)
            elif c.kind == Kind.LEAD_VOLUME:
                rows = [
                    r
                    for r in volume
                    if r.clause == c.clause and period.start <= r.start < period.end
                ]
                target = sum(r.target or 0 for r in rows)
                actual = sum(r.actual or 0 for r in rows)
                running = any(r.status == "running" for r in rows)
                waived = any(r.status == "waived" for r in rows)  # neither kept nor missed
                detail = f"{actual} of {target}{' so far' if running else ''}" if rows else ""
                score = Score(
                    metrics.pct(actual, target),
                    f"{detail} (miss waived)" if waived else detail,
                    None if running or waived or not rows else actual >= target,
                    running=running,
                )
                if rows:  # a quota month is judged by its own period's terms
                    opened_under, terms = commitment_of.get(rows[0].commitment_id, (month_v, terms))
                    label = opened_under.label if opened_under else label
            else:
                a = acceptance.get(key) or metrics.Acceptance()
                floor = terms or c
                judged = a.dispositioned >= floor.min_sample and a.pct is not None
                score = Score(
                    a.pct,
                    f"{a.accepted} of {a.dispositioned} accepted" if a.dispositioned else "",
                    (a.pct >= floor.min_acceptance_pct) if judged and terms else None,
                )
            score.version = label if terms is not None else ""
            month_sentence = commitment_sentence(terms) if terms is not None else ""
            if month_sentence and month_sentence != sentence:
                score.terms = month_sentence
            score.notes = _changes_during(versions, period, month_v, c.clause, month_sentence)
            scores.append(score)
        card.lines.append(
            ScoreLine(
                c.side,
                c.kind,
                sentence,
                scores,
                clause=c.clause,
                in_force=c.clause in in_force_now,
                target=SALES_TARGET if c.kind in metrics.SALES_KINDS else "",
            )
        )
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
            scores.append(_clock_score(total))
        lines.append(
            ScoreLine(Side.SALES, kind, TOTAL_LABELS[kind], scores, total=True, target=SALES_TARGET)
        )
    return lines


def _clock_score(cc: metrics.ClockCompliance) -> Score:
    """A month of sales clocks, kept when its share on time reaches the sales target."""
    detail = f"{cc.met} of {cc.decided} on time" if cc.decided else ""
    return Score(cc.pct, detail, targets.kept(cc.pct, targets.SALES_TARGET_PCT))


def _changes_during(
    versions: list[AgreementVersion],
    period: Period,
    month_version: AgreementVersion | None,
    clause: UUID,
    month_sentence: str,
) -> list[str]:
    """Versions that came into force during the month (after the one it is judged under),
    where this clause reads differently: its clocks started after that date ran under them."""
    notes = []
    for v in versions:
        if v is month_version or not (period.start < v.effective_at < period.end):
            continue
        if v.ended_at is not None and v.ended_at <= v.effective_at:
            continue
        c = next((c for c in v.commitments.all() if c.clause == clause), None)
        sentence = commitment_sentence(c) if c is not None else "(no such commitment)"
        if sentence != month_sentence:
            day = v.effective_at.astimezone(period.start.tzinfo)
            notes.append(f"From {day:%-d %b} under {v.label}: {sentence}")
    return notes


def month_bounds(card: Scorecard) -> tuple[datetime, datetime]:
    last = card.periods[-1]
    return last.start, last.end - timedelta(microseconds=1)
