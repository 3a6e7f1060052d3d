"""Setting a company up without the admin (the provisioning API): teams, their members
(added by username or email, or invited by email), business calendars with their hours
and holidays, and rejection reasons. The same rules as the settings pages: staff create
teams and calendars; staff or a team's managers change the team, its members and the
calendars that time it; a sales manager keeps his team's rejection reasons. Each write is
audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

import audit
from agreements import access
from agreements.errors import PermissionDenied, ValidationError
from agreements.hours import (
    Week,
    calendar_hours_set,
    calendar_public_holidays_set,
    holiday_add,
    holiday_delete,
)
from agreements.invitations import invitation_create, pending_invitations
from agreements.models import (
    BusinessCalendar,
    Invitation,
    Membership,
    RejectionReason,
    Side,
    Team,
    WorkingHours,
)
from agreements.services import membership_set


def _clean(obj, exclude=None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


# Teams ------------------------------------------------------------------------------------


def _require_calendar(user, calendar: BusinessCalendar | None) -> None:
    if calendar is not None and not access.calendars_visible_to(user).filter(pk=calendar.pk):
        raise ValidationError({"calendar": "No calendar you can see has this id."})


@transaction.atomic
def team_create(
    *, user, name: str, side: str, timezone: str = "UTC", calendar: BusinessCalendar | None
) -> Team:
    """A new marketing or sales team (staff only: a team is where data and rights live)."""
    if not access.is_staff(user):
        raise PermissionDenied("Only staff creates teams.")
    team = Team(name=(name or "").strip(), side=side, timezone=timezone, calendar=calendar)
    _clean(team)
    team.save()
    audit.record(
        "team.create",
        team,
        user=user,
        changes={"name": team.name, "side": side, "timezone": timezone},
        teams=[team.pk],
    )
    return team


@transaction.atomic
def team_update(*, user, team: Team, **fields) -> Team:
    """Rename a team, or change its time zone or calendar (staff or a manager of the team).
    Its side never changes: the agreements and clocks of the team depend on it."""
    access.require_team_manager(user, team)
    if "side" in fields and fields.pop("side") != team.side:
        raise ValidationError({"side": "A team's side cannot change; create another team."})
    if "calendar" in fields:
        _require_calendar(user, fields["calendar"])
    changes = {}
    for key, value in fields.items():
        value = value.strip() if isinstance(value, str) and key == "name" else value
        if getattr(team, key) != value:
            changes[key] = getattr(value, "pk", value)
            setattr(team, key, value)
    if changes:
        _clean(team)
        team.save(update_fields=list(changes))
        audit.record("team.update", team, user=user, changes=changes, teams=[team.pk])
    return team


# Members ----------------------------------------------------------------------------------


@dataclass
class MemberResult:
    """A person added to a team now (`membership`), or invited by email (`invitation`)."""

    email: str
    role: str
    membership: Membership | None = None
    invitation: Invitation | None = None
    created: bool = True


def _user_named(name: str):
    users = get_user_model().objects.filter(is_active=True)
    return users.filter(username=name).first() or (
        users.filter(email__iexact=name).order_by("pk").first() if "@" in name else None
    )


@transaction.atomic
def member_add(*, user, team: Team, role: str, now: datetime, email: str = "", username: str = ""):
    """Put a person in `team` with `role` (staff or a manager of the team): somebody with an
    account (by username, or by email) joins now; an email nobody has yet is invited (the
    link is emailed). Idempotent: a member gets the role again (the last manager stays
    one), an email with a pending invitation to this team gets that invitation back, and
    no second email."""
    access.require_team_manager(user, team)
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose member or manager."})
    name = (username or email or "").strip()
    if not name:
        raise ValidationError({"email": "Give the person's email (or an existing username)."})
    person = _user_named(name)
    if person is None and username and not email:
        raise ValidationError({"username": f"No user is called {name!r}; invite them by email."})
    if person is not None:
        existed = Membership.objects.filter(team=team, user=person, role=role).exists()
        membership = membership_set(team=team, user=person, role=role)
        return MemberResult(person.email, role, membership=membership, created=not existed)
    email = name.lower()
    pending = pending_invitations([team.pk], now=now).filter(email=email).first()
    if pending is not None:
        if pending.role != role:
            raise ValidationError(
                {"role": f"{email} is invited as {pending.role} already; wait for the answer."}
            )
        return MemberResult(email, role, invitation=pending, created=False)
    invitation, _ = invitation_create(user=user, team=team, email=email, role=role, now=now)
    return MemberResult(email, role, invitation=invitation)


# Calendars --------------------------------------------------------------------------------


def _week(hours: list[dict]) -> Week:
    week: Week = {d: [] for d in range(7)}
    for row in hours:
        week[row["weekday"]].append((row["start"], row["end"]))
    return {d: sorted(v) for d, v in week.items()}


@transaction.atomic
def calendar_create(
    *,
    user,
    name: str,
    timezone: str,
    hours: list[dict],
    holidays: list[dict] = (),
    holiday_country: str = "",
    holiday_subdivision: str = "",
) -> BusinessCalendar:
    """A business calendar with its weekly hours (`{"weekday", "start", "end"}` rows),
    public holidays of a country/region and its own holiday dates (staff only, as in the
    first-run setup; its teams' managers change it afterwards)."""
    if not access.is_staff(user):
        raise PermissionDenied("Only staff creates business calendars.")
    name = (name or "").strip()
    if BusinessCalendar.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A calendar has this name already."})
    calendar = BusinessCalendar(
        name=name,
        timezone=timezone,
        holiday_country=(holiday_country or "").strip().upper(),
        holiday_subdivision=(holiday_subdivision or "").strip().upper(),
    )
    _clean(calendar)
    calendar.save()
    audit.record(
        "calendar.create",
        calendar,
        user=user,
        changes={"name": name, "timezone": timezone, "country": calendar.holiday_country},
        teams=[],
    )
    calendar_hours_set(user=user, calendar=calendar, week=_week(hours))
    for holiday in holidays:
        holiday_add(user=user, calendar=calendar, day=holiday["date"], name=holiday.get("name", ""))
    return calendar


@transaction.atomic
def calendar_update(
    *,
    user,
    calendar: BusinessCalendar,
    name: str | None = None,
    timezone: str | None = None,
    hours: list[dict] | None = None,
    holidays: list[dict] | None = None,
    holiday_country: str | None = None,
    holiday_subdivision: str | None = None,
) -> BusinessCalendar:
    """Change what is given, each part by the pages' own service: `hours` replaces the week,
    `holidays` replaces the calendar's own dates (kept ones stay, with their new names),
    `holiday_country`/`holiday_subdivision` the public holidays (staff or a manager of the
    teams the calendar times); its name and time zone are staff's (every clock on it moves)."""
    if not access.can_edit_calendar(user, calendar):
        raise PermissionDenied("Only a manager of the teams this calendar times changes it.")
    changes = {}
    for key, value in (("name", name), ("timezone", timezone)):
        if value is not None and getattr(calendar, key) != value.strip():
            if not access.is_staff(user):
                raise PermissionDenied(f"Only staff changes a calendar's {key}.")
            changes[key] = value.strip()
    if changes:
        clash = BusinessCalendar.objects.filter(name__iexact=changes.get("name", "")).exclude(
            pk=calendar.pk
        )
        if "name" in changes and clash.exists():
            raise ValidationError({"name": "A calendar has this name already."})
        for key, value in changes.items():
            setattr(calendar, key, value)
        _clean(calendar)
        calendar.save(update_fields=list(changes))
        audit.record(
            "calendar.update",
            calendar,
            user=user,
            changes=changes,
            teams=sorted(access.calendar_teams([calendar.pk])[calendar.pk]),
        )
    if hours is not None:
        week = _week(hours)
        current = {d: [] for d in range(7)}
        for row in WorkingHours.objects.filter(calendar=calendar).order_by("start"):
            current[row.weekday].append((row.start, row.end))
        if week != current:
            calendar_hours_set(user=user, calendar=calendar, week=week)
    if holiday_country is not None or holiday_subdivision is not None:
        country = calendar.holiday_country if holiday_country is None else holiday_country
        region = (
            calendar.holiday_subdivision if holiday_subdivision is None else holiday_subdivision
        )
        if (country.strip().upper(), region.strip().upper()) != (
            calendar.holiday_country,
            calendar.holiday_subdivision,
        ):
            calendar_public_holidays_set(
                user=user, calendar=calendar, country=country, subdivision=region
            )
    if holidays is not None:
        _holidays_replace(user, calendar, holidays)
    calendar.refresh_from_db()
    return calendar


def _holidays_replace(user, calendar: BusinessCalendar, holidays: list[dict]) -> None:
    wanted: dict[date, str] = {}
    for holiday in holidays:
        if holiday["date"] in wanted:
            raise ValidationError({"holidays": f"{holiday['date']} is given twice."})
        wanted[holiday["date"]] = (holiday.get("name") or "").strip()
    for current in list(calendar.custom_holidays.all()):
        if wanted.get(current.date) != current.name:
            holiday_delete(user=user, holiday=current)
        else:
            del wanted[current.date]
    for day, name in sorted(wanted.items()):
        holiday_add(user=user, calendar=calendar, day=day, name=name)


# Rejection reasons --------------------------------------------------------------------------


@transaction.atomic
def rejection_reason_create(
    *, user, team: Team | None, code: str, label: str, order: int = 0
) -> RejectionReason:
    """A reason on one sales team's list (staff or a manager of that team), or without a
    team on every sales team's list (staff)."""
    if team is None and not access.is_staff(user):
        raise PermissionDenied("Only staff keeps the reasons of every sales team.")
    if team is not None and not (access.is_staff(user) or team.pk in access.reason_team_ids(user)):
        raise PermissionDenied("Only a manager of this sales team keeps its reasons.")
    if team is not None and team.side != Side.SALES:
        raise ValidationError({"team": "Rejection reasons belong to a sales team."})
    if RejectionReason.objects.filter(team=team, code=code).exists():
        raise ValidationError({"code": "This list already has a reason with this code."})
    reason = RejectionReason(team=team, code=code, label=(label or "").strip(), order=order)
    _clean(reason)
    reason.save()
    audit.record(
        "rejection_reason.create",
        reason,
        user=user,
        changes={"code": code, "label": reason.label},
        teams=[team.pk] if team else [],
    )
    return reason


@transaction.atomic
def rejection_reason_update(*, user, reason: RejectionReason, **fields) -> RejectionReason:
    """Relabel, reorder, or take a reason off (and back on) the list; its code stays (leads
    rejected with it keep it)."""
    if not access.can_change_rejection_reason(user, reason):
        raise PermissionDenied("Only a manager of the reason's sales team (or staff) changes it.")
    if "code" in fields and fields.pop("code") != reason.code:
        raise ValidationError({"code": "A reason's code cannot change; add another reason."})
    changes = {k: v for k, v in fields.items() if getattr(reason, k) != v}
    if changes:
        for key, value in changes.items():
            setattr(reason, key, value)
        _clean(reason)
        reason.save(update_fields=list(changes))
        audit.record(
            "rejection_reason.update",
            reason,
            user=user,
            changes=changes,
            teams=[reason.team_id] if reason.team_id else [],
        )
    return reason
