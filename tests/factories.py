"""Small builders for a realistic organisation in tests (plain functions over the services)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from itertools import count

from django.contrib.auth.models import User

from agreements import services as agreement_services
from agreements.models import (
    Agreement,
    AgreementVersion,
    BusinessCalendar,
    Commitment,
    Membership,
    Side,
    Team,
    WorkingHours,
)
from leads import services as lead_services
from leads.models import Lead

_ids = count(1)

# Terms signed at this time are in force for every scenario of the tests (clocks run under
# the version in force at the hand-off, so terms signed "now" do not cover a lead handed
# off yesterday).
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def make_calendar(
    name: str = "Berlin office",
    timezone: str = "Europe/Berlin",
    days: range = range(0, 5),
    intervals: tuple = ((time(9), time(17)),),
    country: str = "",
) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(
        name=f"{name} {next(_ids)}", timezone=timezone, holiday_country=country
    )
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=calendar, weekday=d, start=s, end=e)
        for d in days
        for s, e in intervals
    )
    return calendar


def make_user(username: str, **kwargs) -> User:
    return User.objects.create_user(
        username=username, email=f"{username}@example.com", password="pw", **kwargs
    )


@dataclass
class Org:
    calendar: BusinessCalendar
    marketing: Team
    sales: Team
    rep: User
    rep2: User
    sales_manager: User
    marketing_manager: User
    marketer: User
    agreement: Agreement
    version: AgreementVersion


def make_org(*, calendar: BusinessCalendar | None = None, now: datetime) -> Org:
    """Two teams with members and an agreement whose version 1 is active with no
    commitments yet (add them with `add_commitment` before leads are handed off)."""
    calendar = calendar or make_calendar()
    marketing = Team.objects.create(name="Marketing", side=Side.MARKETING, calendar=calendar)
    sales = Team.objects.create(name="Sales", side=Side.SALES, calendar=calendar)
    users = {
        name: make_user(name)
        for name in ("rep", "rep2", "sales_manager", "marketing_manager", "marketer")
    }
    for name, team, role in [
        ("rep", sales, Membership.Role.MEMBER),
        ("rep2", sales, Membership.Role.MEMBER),
        ("sales_manager", sales, Membership.Role.MANAGER),
        ("marketing_manager", marketing, Membership.Role.MANAGER),
        ("marketer", marketing, Membership.Role.MEMBER),
    ]:
        Membership.objects.create(team=team, user=users[name], role=role)
    agreement = Agreement.objects.create(
        name="Marketing ↔ Sales", marketing_team=marketing, sales_team=sales, calendar=calendar
    )
    version = agreement_services.agreement_version_draft(agreement=agreement)
    return Org(calendar, marketing, sales, agreement=agreement, version=version, **users)


def add_commitment(version: AgreementVersion, kind: str, **fields) -> Commitment:
    return Commitment.objects.create(version=version, kind=kind, **fields)


def activate(org: Org, *, now: datetime, version: AgreementVersion | None = None):
    """Propose and have both managers sign the version (default: the org's draft)."""
    version = version or org.version
    agreement_services.agreement_version_propose(version=version, now=now)
    agreement_services.agreement_version_sign(version=version, user=org.sales_manager, now=now)
    agreement_services.agreement_version_sign(version=version, user=org.marketing_manager, now=now)
    version.refresh_from_db()
    return version


def make_lead(org: Org, *, now: datetime, handed_off_at: datetime | None = None, **fields) -> Lead:
    fields.setdefault("name", f"Lead {next(_ids)}")
    fields.setdefault("owner", org.rep)
    return lead_services.lead_create(
        external_id=fields.pop("external_id", f"ext-{next(_ids)}"),
        sales_team=org.sales,
        marketing_team=org.marketing,
        handed_off_at=handed_off_at,
        now=now,
        **fields,
    )


def make_first_touch_breach(org: Org):
    """A first touch within 4 business hours, in force from 1 Nov 2026; a lead of the rep's
    handed off Monday 23 Nov 09:00 Berlin and left untouched: missed at 13:00, recorded by
    the 14:00 scan. Returns that breach."""
    from zoneinfo import ZoneInfo

    from leads import checks
    from leads.models import Breach

    berlin = ZoneInfo("Europe/Berlin")
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=datetime(2026, 11, 1, tzinfo=berlin))
    handed = datetime(2026, 11, 23, 9, 0, tzinfo=berlin)
    make_lead(org, now=handed, handed_off_at=handed, owner=org.rep)
    checks.deadline_scan(now=datetime(2026, 11, 23, 14, 0, tzinfo=berlin))
    return Breach.objects.get()
