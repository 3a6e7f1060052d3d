"""Shared set-up for the dashboard tests: an organisation with sales clocks."""

from __future__ import annotations

from datetime import datetime

from agreements.models import RejectionReason
from tests.factories import activate, add_commitment, make_lead


def with_sales_terms(org, now: datetime) -> None:
    """First touch within 4 business hours, 3 follow-ups 1 working day apart, a decision
    within 2 working days; a quota of 20 SALs a month and 60% acceptance."""
    add_commitment(org.version, "first_touch", within="PT4H", warn_at_pct=50)
    add_commitment(org.version, "follow_up", attempts=3, every="P1D")
    add_commitment(org.version, "disposition", within="P2D")
    add_commitment(org.version, "lead_volume", target=20, stage="sal", period="month")
    add_commitment(org.version, "lead_quality", min_acceptance_pct=60, period="month", min_sample=5)
    activate(org, now=now)
    RejectionReason.objects.bulk_create(
        [
            RejectionReason(code="no-budget", label="No budget", order=1),
            RejectionReason(code="wrong-fit", label="Not our kind of company", order=2),
        ]
    )


def leads(org, now: datetime, n: int, **fields):
    return [make_lead(org, now=now, handed_off_at=now, **fields) for _ in range(n)]
