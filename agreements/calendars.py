"""Turns a stored BusinessCalendar into the pure `businesstime.Calendar` the clocks use."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from agreements import businesstime
from agreements.models import BusinessCalendar

# Public holidays are expanded for this many years around the instant of interest.
YEARS_BEFORE, YEARS_AFTER = 1, 2


@lru_cache(maxsize=64)
def public_holidays(country: str, subdivision: str, years: range) -> frozenset[date]:
    """The country's (and region's) public holidays in `years`; rules don't change at run
    time, so each answer is kept."""
    if not country:
        return frozenset()
    found = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=years)
    return frozenset(found)


def clock_calendar(calendar: BusinessCalendar, *, around: datetime) -> businesstime.Calendar:
    """The calendar's working hours and holidays, for clocks running near `around`."""
    weekly: dict[int, list] = defaultdict(list)
    for hours in calendar.hours.all():
        weekly[hours.weekday].append((hours.start, hours.end))
    return businesstime.Calendar(
        tz=ZoneInfo(calendar.timezone),
        weekly=dict(weekly),
        holidays=holidays_near(calendar, around),
    )


def holidays_near(calendar: BusinessCalendar, around: datetime) -> frozenset[date]:
    """The calendar's public and own holidays in the years around `around`."""
    years = range(around.year - YEARS_BEFORE, around.year + YEARS_AFTER + 1)
    days = set(public_holidays(calendar.holiday_country, calendar.holiday_subdivision, years))
    days.update(h.date for h in calendar.custom_holidays.all())
    return frozenset(days)
