"""Reads on leads and clocks that other parts share (checks, reports, API, pages)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Min, QuerySet

from agreements.models import Agreement
from leads.models import Lead, Obligation, StageEvent, stages_at_or_beyond


def agreement_leads(agreement: Agreement) -> QuerySet[Lead]:
    """The leads an agreement covers: those routed to its sales team."""
    return Lead.objects.filter(sales_team_id=agreement.sales_team_id)


def leads_reaching_stage(
    agreement: Agreement, stage: str, start: datetime, end: datetime
) -> QuerySet:
    """Leads that first reached `stage` (or a later funnel stage) within [start, end).

    A lead that skips a stage (MQL straight to SQL) counts as having passed it; a lead is
    counted once, in the period it first got there.
    """
    return (
        StageEvent.objects.filter(
            lead__sales_team_id=agreement.sales_team_id,
            to_stage__in=stages_at_or_beyond(stage),
        )
        .values("lead_id")
        .annotate(first_reached=Min("occurred_at"))
        .filter(first_reached__gte=start, first_reached__lt=end)
    )


def dispositions_in(agreement: Agreement, start: datetime, end: datetime) -> tuple[int, int]:
    """(accepted, rejected) counts of the agreement's leads dispositioned in [start, end)."""
    leads = agreement_leads(agreement)
    accepted = leads.filter(accepted_at__gte=start, accepted_at__lt=end).count()
    rejected = leads.filter(rejected_at__gte=start, rejected_at__lt=end).count()
    return accepted, rejected


def open_obligations_due(now: datetime) -> QuerySet[Obligation]:
    """Lead clocks past their due time and still open (served by the partial index)."""
    return Obligation.objects.filter(
        status=Obligation.Status.OPEN, due_at__lte=now, lead__isnull=False
    )


def open_obligations_to_warn(now: datetime) -> QuerySet[Obligation]:
    return Obligation.objects.filter(
        status=Obligation.Status.OPEN,
        warned_at__isnull=True,
        warn_at__lte=now,
        due_at__gt=now,
        lead__isnull=False,
    )
