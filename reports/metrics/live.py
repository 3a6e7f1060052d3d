"""The live queries: the rule of every figure, on the live tables.

The rollups (`reports.refresh`) are written with these very queries grouped finer, so a
rolled-up figure cannot be counted by another rule."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, TruncDate

from leads.models import (
    FUNNEL,
    Activity,
    Lead,
    Obligation,
    RejectionContest,
    StageEvent,
    stages_at_or_beyond,
)
from leads.selectors import ACCEPTED, REJECTED, RETURNED, dispositions
from reports.metrics.filters import (
    SALES_KINDS,
    Kind,
    ReportFilter,
    Status,
    _decided,
    _leads,
    _missed,
)

# Time to first touch: fixed histogram buckets, (key, label, lower bound, upper bound).
TTFT_BUCKETS: list[tuple[str, str, timedelta, timedelta | None]] = [
    ("lt5m", "under 5 min", timedelta(0), timedelta(minutes=5)),
    ("5_15m", "5–15 min", timedelta(minutes=5), timedelta(minutes=15)),
    ("15_60m", "15–60 min", timedelta(minutes=15), timedelta(hours=1)),
    ("1_4h", "1–4 h", timedelta(hours=1), timedelta(hours=4)),
    ("4_24h", "4–24 h", timedelta(hours=4), timedelta(hours=24)),
    ("1_3d", "1–3 days", timedelta(hours=24), timedelta(days=3)),
    ("gt3d", "over 3 days", timedelta(days=3), None),
]
UNTOUCHED = "untouched"


def _fine_edges() -> tuple[float, ...]:
    edges = {0.0, *(b.total_seconds() for _, _, b, _ in TTFT_BUCKETS)}
    step = 1.0
    while step < 400 * 86400:
        edges.add(float(round(step)))
        step *= 1.1
    return tuple(sorted(edges))


# Lower bounds (seconds) of the fine buckets the rollup counts each day's delays in, to find
# an exact percentile without ranking every delay: bucket i holds TTFT_EDGES[i-1] <= s <
# TTFT_EDGES[i] (PostgreSQL `width_bucket(s, edges)`, Python `bisect_right`); bucket 0 holds
# negative delays. About 10 % wide, and the histogram's bounds are among them.
TTFT_EDGES = _fine_edges()


# Lead clocks ------------------------------------------------------------------------------


def lead_clocks(f: ReportFilter, kinds=SALES_KINDS) -> QuerySet[Obligation]:
    """Lead clocks of these kinds due in the range (decided or not), filtered."""
    return Obligation.objects.filter(
        # A lead clock's team is its agreement's sales team: said twice, so that the
        # (team, kind, due_at) index serves the range.
        team_id__in=f.sales_team_ids,
        kind__in=kinds,
        lead__isnull=False,
        agreement_version__agreement_id__in=f.agreement_ids,
        due_at__gte=f.start,
        due_at__lt=f.end,
        **f.lookups(rep="user_id", tier="lead__tier", lead_source="lead__lead_source"),
    )


def _touched_after(strict: bool) -> Exists:
    lookup = "occurred_at__gt" if strict else "occurred_at__gte"
    return Exists(
        Activity.objects.filter(lead_id=OuterRef("lead_id"), **{lookup: OuterRef("starts_at")})
    )


# Group columns the rollups keep, as the live querysets name them (`user_id` is a column).
CLOCK_DIMENSIONS = {
    "agreement_id": F("agreement_version__agreement_id"),
    "clause": F("commitment__clause"),
    "tier": F("lead__tier"),
    "lead_source": F("lead__lead_source"),
}
DISPOSITION_DIMENSIONS = {
    "team_id": F("lead__sales_team_id"),
    "owner_id": F("lead__owner_id"),
    "tier": F("lead__tier"),
    "lead_source": F("lead__lead_source"),
    # A return takes back the rejection under the reason recorded with it.
    "reason": Coalesce(F("contest_return__rejection__note"), F("note")),
}


def clock_rows(f: ReportFilter, by: tuple[str, ...] = ()) -> QuerySet:
    """Decided, met and made counts of the lead clocks by local day of their due time,
    kind and the columns `by` (live tables; one query). The rule of every clock figure."""
    decided = _decided(f)
    return (
        lead_clocks(f)
        .annotate(
            touched_after=_touched_after(strict=True),
            day=TruncDate("due_at", tzinfo=f.tz),
            **{name: CLOCK_DIMENSIONS[name] for name in by if name in CLOCK_DIMENSIONS},
        )
        .values("day", "kind", *by)
        .annotate(
            decided=Count("id", filter=decided),
            met=Count("id", filter=Q(status=Status.MET)),
            made=Count("id", filter=decided & Q(kind=Kind.FOLLOW_UP, touched_after=True)),
        )
        .order_by()
    )


def disposition_rows(f: ReportFilter, by: tuple[str, ...] = ()) -> QuerySet:
    """Accepted and rejected counts by local day they happened and the columns `by` (live
    tables; one query). The rule of every disposition figure."""
    return (
        _dispositions(f)
        .annotate(
            day=TruncDate("occurred_at", tzinfo=f.tz),
            **{name: DISPOSITION_DIMENSIONS[name] for name in by},
        )
        .values("day", *by)
        .annotate(
            accepted=Count("id", filter=ACCEPTED),
            rejected=Count("id", filter=REJECTED) - Count("id", filter=RETURNED),
        )
        .order_by()
    )


class EpochSeconds(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


def _first_touch_clocks(f: ReportFilter) -> QuerySet[Obligation]:
    """Decided first-touch clocks with the time of the lead's first touch since hand-off."""
    first = (
        Activity.objects.filter(lead_id=OuterRef("lead_id"), occurred_at__gte=OuterRef("starts_at"))
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return (
        lead_clocks(f, kinds=[Kind.FIRST_TOUCH])
        .filter(_decided(f))
        # A met clock was met by the first touch (its time is met_at); only the others
        # look the touch up (COALESCE evaluates the subquery only when met_at is empty).
        .annotate(first_touch=Coalesce("met_at", Subquery(first)))
        .annotate(
            ttft=ExpressionWrapper(F("first_touch") - F("starts_at"), output_field=DurationField())
        )
    )


def _bucket_q(lower: timedelta, upper: timedelta | None) -> Q:
    q = Q(ttft__gte=lower)
    return q & Q(ttft__lt=upper) if upper is not None else q


def first_touch_delays(f: ReportFilter) -> QuerySet[Obligation]:
    """The decided first-touch clocks of the range with their local due day and delay to the
    first touch (`ttft`, null when never touched): the rows every time-to-first-touch figure
    is ranked from, live. The rollup keeps the same delays per day, in seconds."""
    return _first_touch_clocks(f).annotate(day=TruncDate("due_at", tzinfo=f.tz))


# Dispositions -----------------------------------------------------------------------------


def _dispositions(f: ReportFilter) -> QuerySet[StageEvent]:
    return dispositions(_leads(f), f.start, f.end)


# Funnel -----------------------------------------------------------------------------------

FUNNEL_STEPS = list(FUNNEL)  # mql, sal, sql, opportunity, won


def _reached(stage: str) -> Exists:
    return Exists(
        StageEvent.objects.filter(lead_id=OuterRef("pk"), to_stage__in=stages_at_or_beyond(stage))
    )


def _ever(stage: str) -> Exists:
    return Exists(StageEvent.objects.filter(lead_id=OuterRef("pk"), to_stage=stage))


def _standing_rejections() -> QuerySet[StageEvent]:
    """Rejections not returned to the rep after a contest (the funnel's *rejected*)."""
    return StageEvent.objects.filter(to_stage="rejected").exclude(contest__decision="returned")


def _funnel_candidates(f: ReportFilter) -> QuerySet[Lead]:
    """Leads with a funnel event in the range (served by the stage-event index): the only
    ones that can have entered the funnel in it."""
    events = StageEvent.objects.filter(
        to_stage__in=FUNNEL, occurred_at__gte=f.start, occurred_at__lt=f.end
    )
    return _leads(f).filter(pk__in=events.values("lead_id"))


def funnel_leads(f: ReportFilter) -> QuerySet[Lead]:
    """The funnel cohort: leads that entered the funnel (first reached MQL or a later stage)
    in the range, annotated with the stages they reached since (up to now) and whether their
    first-touch clocks were kept."""
    entered = (
        StageEvent.objects.filter(lead_id=OuterRef("pk"), to_stage__in=FUNNEL)
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    first_touch = Obligation.objects.filter(lead_id=OuterRef("pk"), kind=Kind.FIRST_TOUCH)
    return (
        _funnel_candidates(f)
        .annotate(entered_at=Subquery(entered))
        .filter(entered_at__gte=f.start, entered_at__lt=f.end)
        .annotate(
            **{f"r_{stage}": _reached(stage) for stage in FUNNEL_STEPS},
            r_recycled=_ever("recycled"),
            r_rejected=Exists(_standing_rejections().filter(lead_id=OuterRef("pk"))),
            ft_met=Exists(first_touch.filter(status=Status.MET)),
            ft_missed=Exists(first_touch.filter(_missed(f))),
        )
    )


SLA_KEPT = Q(ft_met=True, ft_missed=False)
SLA_MISSED = Q(ft_missed=True)


def _in(stages) -> str:
    return "(" + ", ".join(f"'{s}'" for s in stages) + ")"  # fixed stage names, not input


FACT_COLUMNS = ("sales_team_id", "owner_id", "tier", "lead_source", "campaign")
FACT_FLAGS = tuple(f"r_{stage}" for stage in FUNNEL_STEPS[1:]) + (
    "r_recycled",
    "r_rejected",
    "ft_met",
    "ft_breached",
)


def funnel_facts_sql(candidates: QuerySet[Lead]) -> tuple[str, list]:
    """Per lead of `candidates` that has entered the funnel: the lead's columns, when it
    entered, the stages it reached (1/0), and its first-touch clocks (met, breached, earliest
    open due time). Grouped joins (hash aggregates), not a correlated subquery per lead and
    measure. The funnel is counted from these facts, live here or from `FunnelLead`, which
    `reports.refresh` fills with this very statement."""
    cand = candidates.order_by().values("id", *FACT_COLUMNS)
    cand_sql, cand_params = cand.query.sql_with_params()
    qn = connection.ops.quote_name
    reached = ",\n".join(
        f"MAX(CASE WHEN to_stage IN {_in(stages_at_or_beyond(s))} THEN 1 ELSE 0 END) AS r_{s}"
        for s in FUNNEL_STEPS[1:]
    )
    columns = "".join(f"c.{qn(column)} AS {qn(column)}, " for column in FACT_COLUMNS)
    sql = f"""
        WITH cand AS ({cand_sql})
        SELECT c.id AS lead_id, {columns}e.entered AS entered_at,
            {", ".join(f"e.r_{s}" for s in FUNNEL_STEPS[1:])}, e.r_recycled, e.r_rejected,
            COALESCE(o.ft_met, 0) AS ft_met, COALESCE(o.ft_breached, 0) AS ft_breached,
            o.ft_open_due AS ft_open_due
        FROM cand c
        JOIN (
            SELECT lead_id,
                MIN(CASE WHEN to_stage IN {_in(FUNNEL)} THEN occurred_at END) AS entered,
                {reached},
                MAX(CASE WHEN to_stage = 'recycled' THEN 1 ELSE 0 END) AS r_recycled,
                MAX(CASE WHEN to_stage = 'rejected' AND id NOT IN (
                    SELECT rejection_id FROM {qn(RejectionContest._meta.db_table)}
                    WHERE decision = 'returned') THEN 1 ELSE 0 END) AS r_rejected
            FROM {qn(StageEvent._meta.db_table)}
            WHERE lead_id IN (SELECT id FROM cand)
            GROUP BY lead_id
        ) e ON e.lead_id = c.id
        LEFT JOIN (
            SELECT lead_id,
                MAX(CASE WHEN status = 'met' THEN 1 ELSE 0 END) AS ft_met,
                MAX(CASE WHEN status = 'breached' THEN 1 ELSE 0 END) AS ft_breached,
                MIN(CASE WHEN status = 'open' THEN due_at END) AS ft_open_due
            FROM {qn(Obligation._meta.db_table)}
            WHERE kind = 'first_touch' AND lead_id IN (SELECT id FROM cand)
            GROUP BY lead_id
        ) o ON o.lead_id = c.id
        WHERE e.entered IS NOT NULL
    """  # nosec B608 # names are code constants, SQL is ORM-compiled, values are params
    return sql, list(cand_params)
