"""The first run without the admin: staff creates the marketing and sales teams, their
business calendar, and the first agreement as a draft started from the template terms,
ready to edit, propose and sign. The managers of both teams are invited by email."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

import audit
from agreements import access, kinds
from agreements.errors import PermissionDenied, ValidationError
from agreements.invitations import invitation_create
from agreements.models import (
    Agreement,
    AgreementVersion,
    BusinessCalendar,
    Membership,
    Side,
    Team,
    WorkingHours,
)
from agreements.services import agreement_version_draft, commitment_create

# Monday to Friday, 09:00–17:00: the hours a new calendar starts with (edit them after).
DEFAULT_HOURS = [(day, time(9), time(17)) for day in range(5)]

# The template terms of a first agreement. Durations are ISO 8601; on a business clock a
# day is a working day.
TEMPLATE_COMMITMENTS: list[dict] = [
    {
        "kind": "first_touch",
        "order": 0,
        "name": "Tier A first touch",
        "applies_to": {"tier": ["A"]},
        "clock": "business",
        "within": "PT15M",
    },
    {
        "kind": "first_touch",
        "order": 1,
        "name": "Tier B first touch",
        "applies_to": {"tier": ["B"]},
        "clock": "business",
        "within": "PT4H",
    },
    {
        "kind": "first_touch",
        "order": 2,
        "name": "Tier C first touch",
        "applies_to": {"tier": ["C"]},
        "clock": "business",
        "within": "P2D",
    },
    {
        "kind": "follow_up",
        "order": 0,
        "name": "Follow-up cadence",
        "clock": "business",
        "attempts": 5,
        "every": "P1D",
    },
    {
        "kind": "disposition",
        "order": 0,
        "name": "Accept or reject",
        "clock": "business",
        "within": "P2D",
    },
    {
        "kind": "lead_volume",
        "order": 0,
        "name": "Monthly SAL quota",
        "target": 40,
        "stage": "sal",
        "period": "month",
    },
    {
        "kind": "lead_quality",
        "order": 0,
        "name": "Acceptance floor",
        "min_acceptance_pct": 60,
        "period": "month",
        "min_sample": 10,
    },
]


@dataclass
class SetupResult:
    marketing: Team
    sales: Team
    calendar: BusinessCalendar
    agreement: Agreement
    version: AgreementVersion
    invitations: list


def _clean(obj, prefix: str = "") -> None:
    try:
        obj.full_clean()
    except DjangoValidationError as exc:
        raise ValidationError({f"{prefix}{k}": v for k, v in exc.message_dict.items()}) from exc


@transaction.atomic
def first_run_setup(
    *,
    user,
    marketing_name: str,
    sales_name: str,
    timezone: str,
    calendar_name: str,
    agreement_name: str,
    now: datetime,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    marketing_manager_email: str = "",
    sales_manager_email: str = "",
) -> SetupResult:
    """Create both teams with one calendar (Mon–Fri 09:00–17:00 in `timezone`, the
    country's public holidays), the agreement between them with a draft version 1 holding
    the template terms, and invite each team's manager (when an email is given)."""
    if not access.can_run_setup(user):
        raise PermissionDenied("The first-run setup is for staff, while there is no team yet.")
    marketing_name, sales_name = marketing_name.strip(), sales_name.strip()
    if marketing_name.lower() == sales_name.lower():
        raise ValidationError({"sales_name": "The two teams need different names."})
    if BusinessCalendar.objects.filter(name__iexact=calendar_name.strip()).exists():
        raise ValidationError({"calendar_name": "A calendar has this name already."})
    calendar = BusinessCalendar(
        name=calendar_name.strip(),
        timezone=timezone,
        holiday_country=holiday_country.strip().upper(),
        holiday_subdivision=holiday_subdivision.strip().upper(),
    )
    _clean(calendar)
    calendar.save()
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=calendar, weekday=d, start=s, end=e) for d, s, e in DEFAULT_HOURS
    )
    teams = {}
    for side, name, field in (
        (Side.MARKETING, marketing_name, "marketing_name"),
        (Side.SALES, sales_name, "sales_name"),
    ):
        team = Team(name=name, side=side, timezone=timezone, calendar=calendar)
        try:
            team.full_clean()
        except DjangoValidationError as exc:
            raise ValidationError({field: exc.messages}) from exc
        team.save()
        teams[side] = team
    agreement = Agreement(
        name=agreement_name.strip(),
        marketing_team=teams[Side.MARKETING],
        sales_team=teams[Side.SALES],
        calendar=calendar,
    )
    _clean(agreement, prefix="agreement_")
    agreement.save()
    version = agreement_version_draft(
        agreement=agreement, user=user, summary="Started from the SLA Hub template terms."
    )
    for fields in TEMPLATE_COMMITMENTS:
        commitment_create(version=version, **fields)
    invitations = []
    for side, email, field in (
        (Side.MARKETING, marketing_manager_email, "marketing_manager_email"),
        (Side.SALES, sales_manager_email, "sales_manager_email"),
    ):
        if email.strip():
            try:
                invitation, _ = invitation_create(
                    user=user, team=teams[side], email=email, role=Membership.Role.MANAGER, now=now
                )
            except DjangoValidationError as exc:
                raise ValidationError({field: exc.messages}) from exc
            invitations.append(invitation)
    audit.record(
        "setup.run",
        agreement,
        user=user,
        changes={"marketing": marketing_name, "sales": sales_name, "calendar": calendar.name},
        teams=[t.pk for t in teams.values()],
    )
    return SetupResult(
        teams[Side.MARKETING], teams[Side.SALES], calendar, agreement, version, invitations
    )


def template_sentences() -> list[str]:
    """The template terms in plain words, as the agreement page words them."""
    from agreements.models import Commitment

    return [
        kinds.KINDS[f["kind"]].sentence(Commitment(**{"applies_to": {}, **f}))
        for f in TEMPLATE_COMMITMENTS
    ]
