"""Breaches of the agreements for the scorecard and the review pack."""

from __future__ import annotations

from django.db.models import Count, Q

from reports.metrics.filters import ReportFilter


def breaches_by_cause(f: ReportFilter) -> list[dict]:
    """Breaches of the agreements falling due in the range, by side, kind and where they
    stand (open, acknowledged, disputed, upheld, waived); one query."""
    from leads.models import Breach

    qs = Breach.objects.filter(
        obligation__agreement_version__agreement_id__in=f.agreement_ids,
        due_at__gte=f.start,
        due_at__lt=f.end,
    )
    if f.rep_id:
        qs = qs.filter(user_id=f.rep_id)
    rows = (
        qs.values("side", "kind")
        .annotate(
            total=Count("id"),
            open=Count("id", filter=Q(status="open")),
            acknowledged=Count("id", filter=Q(status="acknowledged")),
            disputed=Count("id", filter=Q(status="disputed")),
            upheld=Count("id", filter=Q(status="resolved", resolution="upheld")),
            waived=Count("id", filter=Q(status="resolved", resolution="waived")),
        )
        .order_by("side", "-total", "kind")
    )
    return list(rows)


def open_disputes(f: ReportFilter):
    """Disputed breaches of the agreements awaiting the other side's decision (any date)."""
    from leads.models import Breach

    return (
        Breach.objects.filter(
            obligation__agreement_version__agreement_id__in=f.agreement_ids,
            status=Breach.Status.DISPUTED,
        )
        .select_related("lead", "team", "user", "disputed_by")
        .order_by("disputed_at", "id")
    )
