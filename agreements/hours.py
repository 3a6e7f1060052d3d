"""Changing a business calendar without the admin: its weekly working hours (several
intervals a day), the country/region of its public holidays, and its own holiday dates.
The preview of the next working moments comes from the business-time code the clocks use."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

import audit
from agreements import access, businesstime
from agreements.calendars import holidays_near
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import BusinessCalendar, Holiday, WorkingHours

WEEKDAYS = [label for _, label in WorkingHours.Weekday.choices]
Week = dict[int, list[tuple[time, time]]]

_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
MAX_INTERVALS_PER_DAY = 6


def _time(hours: str, minutes: str) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(0)  # the end of the day
    if h > 23 or m > 59:
        raise ValueError
    return time(h, m)


def parse_day(text: str) -> list[tuple[time, time]]:
    """ "09:00-12:00, 13:00-17:00" → intervals, sorted; an empty text is a day off. Each
    interval starts before it ends (24:00 is the end of the day); none overlap."""
    intervals = []
    for part in [p for p in (text or "").split(",") if p.strip()]:
        match = _INTERVAL.match(part)
        try:
            if match is None:
                raise ValueError
            start, end = _time(*match.group(1, 2)), _time(*match.group(3, 4))
        except ValueError:
            raise ValueError(f"“{part.strip()}” is not an interval like 09:00-17:00.") from None
        if end != time(0) and end <= start:
            raise ValueError(f"{part.strip()}: the start must come before the end.")
        if start == end:
            raise ValueError(f"{part.strip()}: the start must come before the end.")
        intervals.append((start, end))
    if len(intervals) > MAX_INTERVALS_PER_DAY:
        raise ValueError(f"At most {MAX_INTERVALS_PER_DAY} intervals a day.")
    intervals.sort()
    for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
        if end == time(0) or start < end:
            raise ValueError(f"Intervals overlap around {start:%H:%M}.")
    return intervals


def day_text(intervals) -> str:
    return ", ".join(
        f"{s:%H:%M}-{'24:00' if e == time(0) else e.strftime('%H:%M')}" for s, e in intervals
    )


def week_of(calendar: BusinessCalendar) -> Week:
    week: Week = {d: [] for d in range(7)}
    for row in calendar.hours.all():
        week[row.weekday].append((row.start, row.end))
    return week


def next_working_moments(
    calendar: BusinessCalendar, *, now: datetime, week: Week | None = None, count: int = 5
) -> list[tuple[datetime, datetime]]:
    """The next `count` working intervals from `now` (in the calendar's zone), of its saved
    hours or of `week` (a preview before saving), skipping its holidays."""
    week = week_of(calendar) if week is None else week
    if not any(week.values()):
        return []  # a calendar with no working time (businesstime refuses to build one)
    cal = businesstime.Calendar(
        tz=ZoneInfo(calendar.timezone),
        weekly={d: v for d, v in week.items() if v},
        holidays=holidays_near(calendar, now),
    )
    tz = ZoneInfo(calendar.timezone)
    found = []
    for start, end in businesstime.working_intervals(cal, now, now + timedelta(days=31)):
        found.append((start.astimezone(tz), end.astimezone(tz)))
        if len(found) == count:
            break
    return found


def _require_editor(user, calendar: BusinessCalendar) -> None:
    if not access.can_edit_calendar(user, calendar):
        raise PermissionDenied("Only a manager of the teams this calendar times changes it.")


@transaction.atomic
def calendar_hours_set(*, user, calendar: BusinessCalendar, week: Week) -> None:
    """Replace the calendar's working hours by `week` (weekday → intervals). Each interval
    starts before it ends and none overlap on a day (`parse_day` gives such lists)."""
    _require_editor(user, calendar)
    errors = {}
    for day, intervals in week.items():
        try:
            parse_day(day_text(intervals))
        except ValueError as exc:
            errors[f"day_{day}"] = str(exc)
    if errors:
        raise ValidationError(errors)
    calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    calendar.hours.all().delete()
    WorkingHours.objects.bulk_create(
        WorkingHours(calendar=calendar, weekday=day, start=s, end=e)
        for day, intervals in sorted(week.items())
        for s, e in intervals
    )
    audit.record(
        "calendar.hours",
        calendar,
        user=user,
        changes={WEEKDAYS[d]: day_text(v) or "off" for d, v in sorted(week.items())},
        teams=sorted(access.calendar_teams([calendar.pk])[calendar.pk]),
    )


@transaction.atomic
def calendar_public_holidays_set(
    *, user, calendar: BusinessCalendar, country: str, subdivision: str = ""
) -> BusinessCalendar:
    """Which country's (and region's) public holidays the calendar skips; empty: none."""
    _require_editor(user, calendar)
    calendar.holiday_country = (country or "").strip().upper()
    calendar.holiday_subdivision = (subdivision or "").strip().upper()
    try:
        calendar.full_clean()
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    calendar.save(update_fields=["holiday_country", "holiday_subdivision"])
    audit.record(
        "calendar.public_holidays",
        calendar,
        user=user,
        changes={"country": calendar.holiday_country, "region": calendar.holiday_subdivision},
        teams=sorted(access.calendar_teams([calendar.pk])[calendar.pk]),
    )
    return calendar


@transaction.atomic
def holiday_add(*, user, calendar: BusinessCalendar, day: date, name: str = "") -> Holiday:
    _require_editor(user, calendar)
    if Holiday.objects.filter(calendar=calendar, date=day).exists():
        raise ValidationError({"date": f"{day:%d %b %Y} is already a holiday of this calendar."})
    holiday = Holiday(calendar=calendar, date=day, name=(name or "").strip())
    try:
        holiday.full_clean()
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    holiday.save()
    audit.record(
        "holiday.add",
        holiday,
        user=user,
        changes={"date": day, "name": holiday.name},
        teams=sorted(access.calendar_teams([calendar.pk])[calendar.pk]),
    )
    return holiday


@transaction.atomic
def holiday_delete(*, user, holiday: Holiday) -> None:
    _require_editor(user, holiday.calendar)
    audit.record(
        "holiday.delete",
        holiday,
        user=user,
        changes={"date": holiday.date, "name": holiday.name},
        teams=sorted(access.calendar_teams([holiday.calendar_id])[holiday.calendar_id]),
    )
    holiday.delete()


def upcoming_public_holidays(calendar: BusinessCalendar, *, today: date, count: int = 5):
    """The next public holidays of the calendar's country/region: (date, name) pairs."""
    if not calendar.holiday_country:
        return []
    import holidays as holidays_lib

    found = holidays_lib.country_holidays(
        calendar.holiday_country,
        subdiv=calendar.holiday_subdivision or None,
        years=range(today.year, today.year + 2),
    )
    return sorted((d, n) for d, n in found.items() if d >= today)[:count]
