"""Lead clocks on real calendars: public and custom holidays, night shifts and both DST
changes in Europe/Berlin and America/New_York (expected instants worked out by hand)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from agreements.models import Holiday
from tests.factories import LONG_AGO, activate, add_commitment, make_calendar, make_lead, make_org

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY = range(0, 7)
ROUND_THE_CLOCK = ((time(0), time(12)), (time(12), time(0)))


def org_with(calendar, now, **commitment):
    org = make_org(calendar=calendar, now=now)
    add_commitment(org.version, "first_touch", **commitment)
    activate(org, now=LONG_AGO)
    return org


def due_of(org, handed):
    return make_lead(org, now=handed, handed_off_at=handed).obligations.get().due_at


@pytest.mark.django_db
def test_german_christmas_holidays_and_the_weekend_are_skipped(now):
    calendar = make_calendar(country="DE")
    org = org_with(calendar, now, within="PT4H")
    # Thu 24 Dec 16:00: 1h on Thursday; 25 Dec is a holiday, 26–27 the weekend.
    handed = datetime(2026, 12, 24, 16, 0, tzinfo=BERLIN)
    assert due_of(org, handed) == datetime(2026, 12, 28, 12, 0, tzinfo=BERLIN)


@pytest.mark.django_db
def test_a_custom_holiday_pushes_the_clock_a_day(now):
    calendar = make_calendar()
    Holiday.objects.create(calendar=calendar, date=date(2026, 11, 30), name="Company offsite")
    org = org_with(calendar, now, within="PT4H")
    handed = datetime(2026, 11, 27, 16, 30, tzinfo=BERLIN)  # Friday afternoon
    assert due_of(org, handed) == datetime(2026, 12, 1, 12, 30, tzinfo=BERLIN)  # Tuesday


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("handed", "due"),
    [
        # Spring forward: Sunday 29 March has 23 hours; 24 real hours end at 13:00 local.
        ((2026, 3, 28, 12, 0), (2026, 3, 29, 13, 0)),
        # Fall back: Sunday 25 October has 25 hours; 24 real hours end at 11:00 local.
        ((2026, 10, 24, 12, 0), (2026, 10, 25, 11, 0)),
    ],
)
def test_calendar_clock_counts_real_hours_across_berlin_dst(now, handed, due):
    org = org_with(make_calendar(), now, within="P1D", clock="calendar")
    assert due_of(org, datetime(*handed, tzinfo=BERLIN)) == datetime(*due, tzinfo=BERLIN)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("handed", "due"),
    [((2026, 3, 28, 12, 0), (2026, 3, 29, 12, 0)), ((2026, 10, 24, 12, 0), (2026, 10, 25, 12, 0))],
)
def test_business_day_keeps_the_wall_time_across_berlin_dst(now, handed, due):
    calendar = make_calendar(days=EVERY_DAY, intervals=ROUND_THE_CLOCK)
    org = org_with(calendar, now, within="P1D")
    assert due_of(org, datetime(*handed, tzinfo=BERLIN)) == datetime(*due, tzinfo=BERLIN)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("handed", "due"),
    [
        # 22:00–06:00 shift on the spring-forward night lasts 7 real hours: 8 working
        # hours end one hour into Sunday's shift.
        ((2026, 3, 7, 22, 0), (2026, 3, 8, 23, 0)),
        # On the fall-back night the shift lasts 9 real hours: 8 hours end at 05:00 EST.
        ((2026, 10, 31, 22, 0), (2026, 11, 1, 5, 0)),
    ],
)
def test_night_shift_across_new_york_dst(now, handed, due):
    calendar = make_calendar(
        timezone="America/New_York", days=EVERY_DAY, intervals=((time(22), time(6)),)
    )
    org = org_with(calendar, now, within="PT8H")
    assert due_of(org, datetime(*handed, tzinfo=NEW_YORK)) == datetime(*due, tzinfo=NEW_YORK)


@pytest.mark.django_db
def test_several_intervals_a_day(now):
    calendar = make_calendar(intervals=((time(9), time(12)), (time(13), time(17))))
    org = org_with(calendar, now, within="PT1H")
    handed = datetime(2026, 11, 25, 11, 30, tzinfo=BERLIN)
    assert due_of(org, handed) == datetime(2026, 11, 25, 13, 30, tzinfo=BERLIN)


@pytest.mark.django_db
def test_unknown_holiday_country_or_region_is_refused_with_a_field_message():
    from django.core.exceptions import ValidationError

    from agreements.models import BusinessCalendar

    with pytest.raises(ValidationError) as exc:
        BusinessCalendar(name="x", timezone="UTC", holiday_country="XX").full_clean()
    assert "holiday_country" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        BusinessCalendar(
            name="y", timezone="UTC", holiday_country="DE", holiday_subdivision="ZZ"
        ).full_clean()
    assert "holiday_subdivision" in exc.value.message_dict
    BusinessCalendar(
        name="z", timezone="Europe/Berlin", holiday_country="de", holiday_subdivision="BY"
    ).full_clean()
