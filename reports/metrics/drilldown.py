"""The leads behind a figure, filtered exactly as the figure was counted."""

from __future__ import annotations

from django.db.models import QuerySet

from leads.models import Lead, Obligation
from leads.selectors import leads_reaching_stage
from reports.metrics.filters import (
    FUNNEL_GROUPS,
    SALES_KINDS,
    Kind,
    ReportFilter,
    Status,
    _decided,
    _missed,
)
from reports.metrics.live import (
    FUNNEL_STEPS,
    SLA_KEPT,
    SLA_MISSED,
    TTFT_BUCKETS,
    UNTOUCHED,
    _bucket_q,
    _dispositions,
    _first_touch_clocks,
    _touched_after,
    funnel_leads,
    lead_clocks,
)
from reports.metrics.marketing import NO_REASON

OUTCOMES = ("decided", "met", "missed", "made")
DISPOSITIONS = ("accepted", "rejected")
FUNNEL_MEASURES = (*FUNNEL_STEPS, "recycled", "rejected", "sla_kept", "sla_missed")


def leads_behind(
    f: ReportFilter,
    *,
    metric: str,
    outcome: str = "decided",
    bucket: str = "",
    reason: str = "",
    by: str = "",
    group: str | None = None,
    period_id: int | None = None,
) -> QuerySet[Lead]:
    """The leads behind one figure, filtered exactly as the figure was counted (each lead
    once). Raises ValueError for an unknown combination."""
    if metric in SALES_KINDS:
        clocks = lead_clocks(f, kinds=[metric])
        if outcome == "decided":
            clocks = clocks.filter(_decided(f))
        elif outcome == "met":
            clocks = clocks.filter(status=Status.MET)
        elif outcome == "missed":
            clocks = clocks.filter(_missed(f))
        elif outcome == "made" and metric == Kind.FOLLOW_UP:
            clocks = clocks.filter(_decided(f)).filter(_touched_after(strict=True))
        else:
            raise ValueError(f"Unknown outcome {outcome!r}.")
        return Lead.objects.filter(pk__in=clocks.values("lead_id"))
    if metric == "ttft":
        clocks = _first_touch_clocks(f)
        if bucket == UNTOUCHED:
            clocks = clocks.filter(first_touch__isnull=True)
        elif bucket:
            spec = {key: (lo, hi) for key, _, lo, hi in TTFT_BUCKETS}.get(bucket)
            if spec is None:
                raise ValueError(f"Unknown bucket {bucket!r}.")
            clocks = clocks.filter(_bucket_q(*spec))
        return Lead.objects.filter(pk__in=clocks.values("lead_id"))
    if metric in DISPOSITIONS:
        events = _dispositions(f).filter(to_stage="sal" if metric == "accepted" else "rejected")
        if metric != "accepted":  # a rejection returned within the range nets to none
            events = events.exclude(
                contest__return_event__occurred_at__gte=f.start,
                contest__return_event__occurred_at__lt=f.end,
            )
        if reason:
            events = events.filter(note="" if reason == NO_REASON else reason)
        return Lead.objects.filter(pk__in=events.values("lead_id"))
    if metric == "volume":
        period = (
            Obligation.objects.filter(
                pk=period_id,
                lead__isnull=True,
                kind=Kind.LEAD_VOLUME,
                agreement_version__agreement_id__in=f.agreement_ids,
            )
            .select_related("commitment", "agreement_version__agreement")
            .first()
        )
        if period is None:
            raise ValueError("Unknown quota period.")
        reached = leads_reaching_stage(
            period.agreement_version.agreement,
            period.commitment.stage,
            period.period_start,
            period.due_at,
        )
        return Lead.objects.filter(pk__in=reached.values("lead_id"))
    if metric == "funnel":
        if outcome not in FUNNEL_MEASURES:
            raise ValueError(f"Unknown funnel measure {outcome!r}.")
        cohort = funnel_leads(f)
        if by:
            if by not in FUNNEL_GROUPS:
                raise ValueError(f"Unknown funnel grouping {by!r}.")
            cohort = cohort.filter(**{by: group or ""})
        if outcome == "sla_kept":
            cohort = cohort.filter(SLA_KEPT)
        elif outcome == "sla_missed":
            cohort = cohort.filter(SLA_MISSED)
        elif outcome != "mql":
            cohort = cohort.filter(**{f"r_{outcome}": True})
        return Lead.objects.filter(pk__in=cohort.values("pk"))
    raise ValueError(f"Unknown metric {metric!r}.")
