"""Tests for agreements.businesstime (pure Python; expected instants are hand-computed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agreements.businesstime import (
    Calendar,
    ClockDuration,
    add,
    add_duration,
    add_working_days,
    between,
    is_working,
    next_working_moment,
    working_intervals,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)


def T(text: str) -> datetime:
    """Literal instant with an explicit UTC offset, e.g. T('2026-01-19T12:30+01:00')."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def hours(a: int, b: int) -> tuple[time, time]:
    return (time(a), time(b))


def weekdays(*intervals: tuple[time, time]) -> dict[int, list[tuple[time, time]]]:
    return {d: list(intervals) for d in range(5)}


def everyday(*intervals: tuple[time, time]) -> dict[int, list[tuple[time, time]]]:
    return {d: list(intervals) for d in range(7)}


OFFICE = Calendar(BERLIN, weekdays(hours(9, 17)))
LUNCH = Calendar(BERLIN, weekdays(hours(9, 12), hours(13, 17)))
NIGHT = Calendar(BERLIN, weekdays(hours(22, 6)))

# 2026-01-16 is a Friday (Berlin winter time, +01:00).


# ---------------------------------------------------------------- basic office hours


def test_friday_afternoon_rolls_over_weekend():
    result = add(OFFICE, T("2026-01-16T16:30+01:00"), 4 * H)
    assert result == T("2026-01-19T12:30+01:00")
    assert result.tzinfo is UTC


def test_work_ending_exactly_at_close_stays_same_day():
    assert add(OFFICE, T("2026-01-16T16:00+01:00"), H) == T("2026-01-16T17:00+01:00")


def test_start_at_close():
    assert add(OFFICE, T("2026-01-16T17:00+01:00"), H) == T("2026-01-19T10:00+01:00")
    assert add(OFFICE, T("2026-01-16T17:00+01:00"), timedelta(0)) == T("2026-01-16T17:00+01:00")
    assert not is_working(OFFICE, T("2026-01-16T17:00+01:00"))
    assert is_working(OFFICE, T("2026-01-16T16:59:59.999999+01:00"))
    assert is_working(OFFICE, T("2026-01-16T09:00+01:00"))
    assert not is_working(OFFICE, T("2026-01-16T08:59:59+01:00"))


def test_start_on_saturday():
    assert add(OFFICE, T("2026-01-17T10:00+01:00"), 2 * H) == T("2026-01-19T11:00+01:00")
    assert next_working_moment(OFFICE, T("2026-01-17T10:00+01:00")) == T("2026-01-19T09:00+01:00")
    assert next_working_moment(OFFICE, T("2026-01-14T10:00+01:00")) == T("2026-01-14T10:00+01:00")


def test_zero_work_means_now_even_outside_hours():
    assert add(OFFICE, T("2026-01-17T10:00+01:00"), timedelta(0)) == T("2026-01-17T10:00+01:00")


def test_between_and_reverse():
    a, b = T("2026-01-16T16:30+01:00"), T("2026-01-19T12:30+01:00")
    assert between(OFFICE, a, b) == 4 * H
    assert between(OFFICE, b, a) == -4 * H
    assert between(OFFICE, a, a) == timedelta(0)
    assert between(OFFICE, T("2026-01-17T00:00+01:00"), T("2026-01-19T00:00+01:00")) == timedelta(0)


def test_inputs_in_any_zone_results_in_utc():
    result = add(OFFICE, T("2026-01-16T15:30+00:00"), 4 * H)
    assert result == T("2026-01-19T12:30+01:00")
    assert result.tzinfo is UTC
    assert result.isoformat() == "2026-01-19T11:30:00+00:00"


def test_two_weeks_of_work():
    assert add(OFFICE, T("2026-01-05T09:00+01:00"), 80 * H) == T("2026-01-16T17:00+01:00")
    assert between(OFFICE, T("2026-01-05T00:00+01:00"), T("2026-01-19T00:00+01:00")) == 80 * H


# ---------------------------------------------------------------- holidays


def test_custom_holiday_on_monday():
    cal = Calendar(BERLIN, weekdays(hours(9, 17)), frozenset({date(2026, 1, 19)}))
    assert add(cal, T("2026-01-16T16:30+01:00"), 4 * H) == T("2026-01-20T12:30+01:00")
    assert not is_working(cal, T("2026-01-19T10:00+01:00"))


XMAS = Calendar(
    BERLIN,
    weekdays(hours(9, 17)),
    frozenset(
        {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 31)}
        | {date(2027, 1, 1)}
    ),
)


def test_christmas_span():
    # Wed 23rd: 2h left; 24th/25th holidays; weekend; Mon 28th: 8h; Tue 29th: 6h.
    assert add(XMAS, T("2026-12-23T15:00+01:00"), 16 * H) == T("2026-12-29T15:00+01:00")


def test_new_year_span():
    # Wed 30th: 1h; 31st and 1st holidays; weekend; Mon 4 Jan 09:00 + 2h.
    assert add(XMAS, T("2026-12-30T16:00+01:00"), 3 * H) == T("2027-01-04T11:00+01:00")
    # Dec 23, 28, 29, 30 are the only working days.
    assert between(XMAS, T("2026-12-23T00:00+01:00"), T("2027-01-04T00:00+01:00")) == 32 * H


# ---------------------------------------------------------------- several intervals a day


def test_lunch_break():
    assert add(LUNCH, T("2026-01-14T11:30+01:00"), H) == T("2026-01-14T13:30+01:00")
    assert add(LUNCH, T("2026-01-14T11:30+01:00"), 30 * MIN) == T("2026-01-14T12:00+01:00")
    assert between(LUNCH, T("2026-01-14T11:00+01:00"), T("2026-01-14T14:00+01:00")) == 2 * H
    assert not is_working(LUNCH, T("2026-01-14T12:30+01:00"))
    assert next_working_moment(LUNCH, T("2026-01-14T12:30+01:00")) == T("2026-01-14T13:00+01:00")


def test_working_intervals_clipped_in_order():
    got = list(working_intervals(LUNCH, T("2026-01-14T10:00+01:00"), T("2026-01-14T15:00+01:00")))
    assert got == [
        (T("2026-01-14T10:00+01:00"), T("2026-01-14T12:00+01:00")),
        (T("2026-01-14T13:00+01:00"), T("2026-01-14T15:00+01:00")),
    ]
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in got)
    assert (
        list(working_intervals(LUNCH, T("2026-01-14T15:00+01:00"), T("2026-01-14T10:00+01:00")))
        == []
    )


def test_touching_and_overlapping_intervals_are_merged():
    cal = Calendar(BERLIN, {0: [hours(9, 12), hours(12, 14), hours(13, 15)], 1: [hours(22, 6)]})
    got = list(working_intervals(cal, T("2026-01-12T00:00+01:00"), T("2026-01-14T00:00+01:00")))
    assert got == [
        (T("2026-01-12T09:00+01:00"), T("2026-01-12T15:00+01:00")),
        (T("2026-01-13T22:00+01:00"), T("2026-01-14T00:00+01:00")),
    ]


# ---------------------------------------------------------------- overnight shifts


def test_overnight_shift_friday_night():
    # The Friday shift runs until Saturday 06:00.
    assert add(NIGHT, T("2026-01-16T23:00+01:00"), 4 * H) == T("2026-01-17T03:00+01:00")
    # 7h left on Friday's shift, then Monday 22:00 + 1h.
    assert add(NIGHT, T("2026-01-16T23:00+01:00"), 8 * H) == T("2026-01-19T23:00+01:00")


def test_overnight_shift_weekend():
    assert is_working(NIGHT, T("2026-01-17T05:59+01:00"))  # Saturday, Friday's shift
    assert not is_working(NIGHT, T("2026-01-18T02:00+01:00"))  # Sunday: no Saturday shift
    assert not is_working(NIGHT, T("2026-01-19T02:00+01:00"))  # Monday: no Sunday shift
    assert is_working(NIGHT, T("2026-01-20T02:00+01:00"))  # Tuesday: Monday's shift
    assert next_working_moment(NIGHT, T("2026-01-17T07:00+01:00")) == T("2026-01-19T22:00+01:00")


def test_overnight_between():
    assert between(NIGHT, T("2026-01-19T20:00+01:00"), T("2026-01-20T08:00+01:00")) == 8 * H
    # Friday 00:00-06:00 (Thursday's shift) + Friday 22:00-Saturday 06:00.
    assert between(NIGHT, T("2026-01-16T00:00+01:00"), T("2026-01-19T00:00+01:00")) == 14 * H


def test_overnight_holiday_skips_whole_shift_owned_by_that_date():
    cal = Calendar(BERLIN, weekdays(hours(22, 6)), frozenset({date(2026, 1, 15)}))
    # Thursday's shift (Thu 22:00 - Fri 06:00) is off; Wednesday's shift still runs into Thu.
    assert is_working(cal, T("2026-01-15T05:00+01:00"))
    assert not is_working(cal, T("2026-01-16T05:00+01:00"))
    assert between(cal, T("2026-01-15T00:00+01:00"), T("2026-01-17T00:00+01:00")) == 8 * H


def test_shift_ending_at_midnight():
    cal = Calendar(BERLIN, weekdays((time(18), time(0))))
    assert add(cal, T("2026-01-16T23:30+01:00"), H) == T("2026-01-19T18:30+01:00")
    assert add(cal, T("2026-01-16T23:00+01:00"), H) == T("2026-01-17T00:00+01:00")
    assert not is_working(cal, T("2026-01-17T00:00+01:00"))


# ---------------------------------------------------------------- DST


NIGHTLY_1_5_BERLIN = Calendar(BERLIN, everyday(hours(1, 5)))
NIGHTLY_1_5_NY = Calendar(NEW_YORK, everyday(hours(1, 5)))


def test_berlin_spring_forward_shift_is_three_hours():
    cal = NIGHTLY_1_5_BERLIN
    # 2026-03-29: 02:00 CET -> 03:00 CEST.
    assert between(cal, T("2026-03-29T00:00+01:00"), T("2026-03-29T12:00+02:00")) == 3 * H
    assert add(cal, T("2026-03-29T01:00+01:00"), 3 * H) == T("2026-03-29T05:00+02:00")
    assert add(cal, T("2026-03-29T01:00+01:00"), 3 * H + MIN) == T("2026-03-30T01:01+02:00")
    assert between(cal, T("2026-03-28T00:00+01:00"), T("2026-03-28T12:00+01:00")) == 4 * H


def test_berlin_fall_back_shift_is_five_hours():
    cal = NIGHTLY_1_5_BERLIN
    # 2026-10-25: 03:00 CEST -> 02:00 CET.
    assert between(cal, T("2026-10-25T00:00+02:00"), T("2026-10-25T12:00+01:00")) == 5 * H
    assert add(cal, T("2026-10-25T01:00+02:00"), 5 * H) == T("2026-10-25T05:00+01:00")
    assert add(cal, T("2026-10-25T01:00+02:00"), 3 * H) == T("2026-10-25T03:00+01:00")


def test_new_york_dst_nights():
    cal = NIGHTLY_1_5_NY
    # 2026-03-08: 02:00 EST -> 03:00 EDT; 2026-11-01: 02:00 EDT -> 01:00 EST.
    assert between(cal, T("2026-03-08T00:00-05:00"), T("2026-03-08T12:00-04:00")) == 3 * H
    assert between(cal, T("2026-11-01T00:00-04:00"), T("2026-11-01T12:00-05:00")) == 5 * H
    assert add(cal, T("2026-11-01T01:00-04:00"), 4 * H + 30 * MIN) == T("2026-11-01T04:30-05:00")
    assert add(cal, T("2026-03-08T04:00-04:00"), 2 * H) == T("2026-03-09T02:00-04:00")


def test_wall_time_in_gap_maps_to_end_of_gap_and_ambiguous_to_first():
    cal = Calendar(BERLIN, {6: [(time(2, 30), time(4))]})
    # 02:30 does not exist on 2026-03-29: the interval starts at 03:00 CEST.
    assert next_working_moment(cal, T("2026-03-29T00:00+01:00")) == T("2026-03-29T03:00+02:00")
    assert between(cal, T("2026-03-29T00:00+01:00"), T("2026-03-29T12:00+02:00")) == H
    # 02:30 happens twice on 2026-10-25: the first one (CEST) counts.
    assert next_working_moment(cal, T("2026-10-25T00:00+02:00")) == T("2026-10-25T02:30+02:00")
    assert between(cal, T("2026-10-25T00:00+02:00"), T("2026-10-25T12:00+01:00")) == 150 * MIN


def test_interval_entirely_inside_gap_is_empty():
    cal = Calendar(BERLIN, {6: [(time(2, 10), time(2, 50))]})
    assert between(cal, T("2026-03-29T00:00+01:00"), T("2026-03-30T00:00+02:00")) == timedelta(0)
    assert between(cal, T("2026-03-22T00:00+01:00"), T("2026-03-23T00:00+01:00")) == 40 * MIN


def test_lord_howe_half_hour_dst():
    cal = Calendar(ZoneInfo("Australia/Lord_Howe"), everyday(hours(1, 3)))
    # 2026-04-05: 02:00 (+11:00) -> 01:30 (+10:30); 2026-10-04: 02:00 (+10:30) -> 02:30 (+11:00).
    assert between(cal, T("2026-04-05T00:00+11:00"), T("2026-04-05T12:00+10:30")) == 150 * MIN
    assert between(cal, T("2026-10-04T00:00+10:30"), T("2026-10-04T12:00+11:00")) == 90 * MIN
    assert add(cal, T("2026-10-04T01:00+10:30"), H) == T("2026-10-04T02:30+11:00")


def test_overnight_shift_across_dst():
    cal = Calendar(BERLIN, {5: [hours(22, 6)]})  # Saturday night
    assert between(cal, T("2026-03-28T12:00+01:00"), T("2026-03-29T12:00+02:00")) == 7 * H
    assert between(cal, T("2026-10-24T12:00+02:00"), T("2026-10-25T12:00+01:00")) == 9 * H
    assert add(cal, T("2026-10-24T22:00+02:00"), 9 * H) == T("2026-10-25T06:00+01:00")


def test_calendar_clock_day_is_24_real_hours_across_dst():
    p1d = ClockDuration.parse("P1D")
    assert add_duration(OFFICE, T("2026-03-28T12:00+01:00"), p1d, "calendar") == T(
        "2026-03-29T13:00+02:00"
    )
    assert add_duration(OFFICE, T("2026-10-24T12:00+02:00"), p1d, "calendar") == T(
        "2026-10-25T11:00+01:00"
    )
    result = add_duration(None, datetime(2026, 3, 7, 9, tzinfo=NEW_YORK), p1d, "calendar")
    assert result == T("2026-03-08T10:00-04:00")
    assert result.tzinfo is UTC


def test_business_clock_day_keeps_wall_time_across_dst():
    seven_days = Calendar(BERLIN, everyday(hours(9, 17)))
    p1d = ClockDuration.parse("P1D")
    assert add_duration(seven_days, T("2026-03-28T12:00+01:00"), p1d, "business") == T(
        "2026-03-29T12:00+02:00"
    )
    assert add_duration(seven_days, T("2026-10-24T12:00+02:00"), p1d, "business") == T(
        "2026-10-25T12:00+01:00"
    )
    assert add_duration(OFFICE, T("2026-03-27T12:00+01:00"), p1d, "business") == T(
        "2026-03-30T12:00+02:00"
    )
    # Mon 15:00 + 4h -> 2h on Monday, 2h on Tuesday.
    p1dt4h = ClockDuration.parse("P1DT4H")
    assert add_duration(OFFICE, T("2026-03-27T15:00+01:00"), p1dt4h, "business") == T(
        "2026-03-31T11:00+02:00"
    )


def test_add_duration_business_hours_and_errors():
    start = T("2026-01-16T16:30+01:00")
    pt4h = ClockDuration.parse("PT4H")
    assert add_duration(OFFICE, start, pt4h, "business") == T("2026-01-19T12:30+01:00")
    assert add_duration(OFFICE, start, pt4h, "calendar") == T("2026-01-16T20:30+01:00")
    assert add_duration(OFFICE, start, ClockDuration(), "business") == start
    with pytest.raises(ValueError, match="calendar"):
        add_duration(None, start, pt4h, "business")
    with pytest.raises(ValueError, match="clock"):
        add_duration(OFFICE, start, pt4h, "wallclock")


# ---------------------------------------------------------------- add_working_days


def test_add_working_days_examples():
    assert add_working_days(OFFICE, T("2026-01-13T15:00+01:00"), 2) == T("2026-01-15T15:00+01:00")
    assert add_working_days(OFFICE, T("2026-01-16T16:00+01:00"), 1) == T("2026-01-19T16:00+01:00")
    # Saturday start: first moved to Monday 09:00, then one day on.
    assert add_working_days(OFFICE, T("2026-01-17T10:00+01:00"), 1) == T("2026-01-20T09:00+01:00")
    assert add_working_days(OFFICE, T("2026-01-17T10:00+01:00"), 0) == T("2026-01-19T09:00+01:00")


def test_add_working_days_skips_holidays():
    assert add_working_days(XMAS, T("2026-12-23T10:00+01:00"), 1) == T("2026-12-28T10:00+01:00")
    assert add_working_days(XMAS, T("2026-12-30T10:00+01:00"), 1) == T("2027-01-04T10:00+01:00")


def test_add_working_days_wall_time_not_working_on_target_day():
    cal = Calendar(BERLIN, {0: [hours(9, 17)], 1: [hours(13, 17)]})
    assert add_working_days(cal, T("2026-01-12T10:00+01:00"), 1) == T("2026-01-13T13:00+01:00")


def test_add_working_days_overnight_counts_from_shift_date():
    # Saturday 02:00 belongs to Friday's shift, so +1 working day is Monday's shift.
    assert add_working_days(NIGHT, T("2026-01-17T02:00+01:00"), 1) == T("2026-01-20T02:00+01:00")
    assert add_working_days(NIGHT, T("2026-01-16T23:00+01:00"), 1) == T("2026-01-19T23:00+01:00")


def test_add_working_days_sparse_calendar_far_ahead():
    mondays_only = Calendar(BERLIN, {0: [hours(9, 17)]})
    # 600 working days = 600 weeks (more than 3700 non-working days skipped in total).
    assert add_working_days(mondays_only, T("2026-01-05T10:00+01:00"), 600) == T(
        "2037-07-06T10:00+02:00"
    )


def test_add_working_days_rejects_negative():
    with pytest.raises(ValueError):
        add_working_days(OFFICE, T("2026-01-13T15:00+01:00"), -1)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "weekly",
    [
        {},
        {0: []},
        {7: [hours(9, 17)]},
        {-1: [hours(9, 17)]},
        {0: [hours(9, 9)]},
        {0: [(time(0), time(0))]},
        {0: [(time(9),)]},
        {0: [(9, 17)]},
        {0: [(time(9, tzinfo=UTC), time(17))]},
    ],
)
def test_calendar_validation(weekly):
    with pytest.raises(ValueError):
        Calendar(BERLIN, weekly)


def test_calendar_is_hashable_and_comparable():
    a = Calendar(BERLIN, {0: [hours(9, 17)]}, frozenset({date(2026, 1, 1)}))
    b = Calendar(BERLIN, {0: (hours(9, 17),)}, frozenset({date(2026, 1, 1)}))
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    with pytest.raises(TypeError):
        a.weekly[1] = [hours(9, 17)]
    assert a != Calendar(BERLIN, {0: [hours(9, 16)]})


def test_naive_datetimes_rejected():
    naive = datetime(2026, 1, 16, 10)
    aware = T("2026-01-16T10:00+01:00")
    for call in (
        lambda: add(OFFICE, naive, H),
        lambda: between(OFFICE, naive, aware),
        lambda: between(OFFICE, aware, naive),
        lambda: is_working(OFFICE, naive),
        lambda: next_working_moment(OFFICE, naive),
        lambda: list(working_intervals(OFFICE, naive, aware)),
        lambda: add_working_days(OFFICE, naive, 1),
        lambda: add_duration(None, naive, ClockDuration(1), "calendar"),
    ):
        with pytest.raises(ValueError, match="aware"):
            call()


def test_negative_work_rejected():
    with pytest.raises(ValueError):
        add(OFFICE, T("2026-01-16T10:00+01:00"), -H)


def test_no_working_time_within_ten_years():
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(600))
    cal = Calendar(BERLIN, {0: [hours(9, 17)]}, mondays)
    start = T("2026-01-01T00:00+01:00")
    with pytest.raises(ValueError, match="no working time within 10 years"):
        add(cal, start, H)
    with pytest.raises(ValueError, match="no working time within 10 years"):
        next_working_moment(cal, start)
    with pytest.raises(ValueError, match="no working time within 10 years"):
        add_working_days(cal, start, 1)
    # A bounded question still has an answer.
    assert between(cal, start, T("2027-01-01T00:00+01:00")) == timedelta(0)


# ---------------------------------------------------------------- ClockDuration


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [
        ("PT4H", 0, 4 * 3600),
        ("P2D", 2, 0),
        ("P1DT4H", 1, 4 * 3600),
        ("PT90M", 0, 5400),
        ("P1W", 7, 0),
        ("P1W2D", 9, 0),
        ("PT0S", 0, 0),
        ("P0D", 0, 0),
        ("PT1H30M15S", 0, 5415),
        ("PT24H", 0, 86400),
    ],
)
def test_duration_parse(text, days, seconds):
    assert ClockDuration.parse(text) == ClockDuration(days=days, seconds=seconds)


@pytest.mark.parametrize(
    ("days", "seconds", "text"),
    [
        (0, 0, "PT0S"),
        (0, 4 * 3600, "PT4H"),
        (2, 0, "P2D"),
        (1, 4 * 3600 + 1800, "P1DT4H30M"),
        (0, 5400, "PT1H30M"),
        (7, 0, "P7D"),
        (0, 45, "PT45S"),
        (0, 86400, "PT24H"),
        (3, 61, "P3DT1M1S"),
    ],
)
def test_duration_isoformat(days, seconds, text):
    duration = ClockDuration(days=days, seconds=seconds)
    assert duration.isoformat() == text
    assert str(duration) == text
    assert ClockDuration.parse(text) == duration


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P1DT",
        "P1Y",
        "P1M",
        "P1Y2M",
        "P-1D",
        "-P1D",
        "P1.5D",
        "PT0.5H",
        "PT1,5H",
        "pt4h",
        " PT4H",
        "PT4H ",
        "4H",
        "P1H",
        "PT1D",
        "P1D1W",
        "PT1M1H",
        "P\uff11D",
        None,
        4,
    ],
)
def test_duration_parse_errors(text):
    with pytest.raises(ValueError, match="invalid duration"):
        ClockDuration.parse(text)


def test_duration_validation_and_timedelta():
    assert ClockDuration.parse("P1DT4H").as_timedelta() == timedelta(hours=28)
    for bad in ({"days": -1}, {"seconds": -1}, {"days": 1.5}, {"days": 10**9}):
        with pytest.raises(ValueError):
            ClockDuration(**bad)


@given(st.integers(0, 3000), st.integers(0, 10**7))
def test_duration_roundtrip(days, seconds):
    duration = ClockDuration(days, seconds)
    assert ClockDuration.parse(duration.isoformat()) == duration


# ---------------------------------------------------------------- property-based

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOLIDAY_BASE = date(2024, 12, 20)


@st.composite
def calendars(draw, zones=ZONES):
    """Random weekly intervals on a 5-minute grid (incl. overnight ones) plus holidays."""
    raw = draw(
        st.lists(
            st.tuples(st.integers(0, 6), st.integers(0, 287), st.integers(1, 287)),
            min_size=1,
            max_size=10,
        )
    )
    weekly: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, length in raw:
        end = (start + length) % 288
        weekly.setdefault(weekday, []).append(
            (time(*divmod(start * 5, 60)), time(*divmod(end * 5, 60)))
        )
    offsets = draw(st.lists(st.integers(0, 1115), max_size=30))
    holidays = frozenset(HOLIDAY_BASE + timedelta(days=n) for n in offsets)
    return Calendar(ZoneInfo(draw(st.sampled_from(zones))), weekly, holidays)


def weekly_seconds(cal: Calendar) -> int:
    total = 0
    for ivs in cal.weekly.values():
        for s, e in ivs:
            total += (e.hour * 3600 + e.minute * 60 - s.hour * 3600 - s.minute * 60) % 86400
    return total


DST_SWITCHES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Berlin
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe (30 min)
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
]
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
) | st.builds(
    lambda base, shift: base + timedelta(seconds=shift),
    st.sampled_from(DST_SWITCHES),
    st.integers(-3 * 86400, 3 * 86400),
)


@st.composite
def work_for(draw, cal: Calendar):
    limit = min(200 * 3600, 8 * weekly_seconds(cal))
    return timedelta(seconds=draw(st.integers(0, limit)), microseconds=draw(st.integers(0, 999)))


@PROPS
@given(st.data(), calendars(), instants)
def test_between_inverts_add(data, cal, start):
    work = data.draw(work_for(cal))
    end = add(cal, start, work)
    assert end.tzinfo is UTC
    assert end >= start
    assert between(cal, start, end) == work
    if work:
        assert is_working(cal, end - US)  # the last microsecond of work was working time
    else:
        assert end == start


@PROPS
@given(st.data(), calendars(), instants)
def test_add_is_monotonic_and_composable(data, cal, start):
    d1, d2 = sorted([data.draw(work_for(cal)), data.draw(work_for(cal))])
    assert add(cal, start, d1) <= add(cal, start, d2)
    assert add(cal, add(cal, start, d1), d2 - d1) == add(cal, start, d2)


@PROPS
@given(calendars(), instants, st.lists(st.integers(0, 60 * 86400), min_size=2, max_size=2))
def test_between_is_additive_and_bounded(cal, a, offsets):
    b, c = (a + timedelta(seconds=n) for n in sorted(offsets))
    ab, bc, ac = between(cal, a, b), between(cal, b, c), between(cal, a, c)
    assert ab + bc == ac
    assert timedelta(0) <= ab <= b - a
    assert between(cal, c, a) == -ac


@PROPS
@given(calendars(), instants)
def test_next_working_moment(cal, at):
    moment = next_working_moment(cal, at)
    assert moment >= at
    assert is_working(cal, moment)
    assert between(cal, at, moment) == timedelta(0)
    assert (moment == at) == is_working(cal, at)


@PROPS
@given(calendars(), instants, st.integers(1, 10 * 86400))
def test_working_intervals_are_merged_and_sum_to_between(cal, start, span):
    end = start + timedelta(seconds=span)
    got = list(working_intervals(cal, start, end))
    for s, e in got:
        assert start <= s < e <= end
        assert is_working(cal, s)
        assert is_working(cal, e - US)
        if e < end:
            assert not is_working(cal, e)
    for (_, e1), (s2, _) in pairwise(got):
        assert e1 < s2
    assert sum((e - s for s, e in got), timedelta(0)) == between(cal, start, end)


@PROPS
@given(calendars(), instants, st.integers(0, 15))
def test_add_working_days_lands_on_working_time(cal, start, days):
    result = add_working_days(cal, start, days)
    assert result.tzinfo is UTC
    assert is_working(cal, result)
    assert result >= next_working_moment(cal, start)
    if days == 0:
        assert result == next_working_moment(cal, start)
    else:
        assert result > start


@PROPS
@given(
    st.sampled_from([OFFICE, NIGHTLY_1_5_NY, None]),
    instants,
    st.integers(0, 100),
    st.integers(0, 10**6),
)
def test_calendar_clock_is_elapsed_time(cal, start, days, seconds):
    result = add_duration(cal, start, ClockDuration(days, seconds), "calendar")
    assert result.tzinfo is UTC
    assert result - start == timedelta(days=days, seconds=seconds)


def _oracle_is_working(cal: Calendar, local: datetime) -> bool:
    """Wall-clock rule, valid only for zones without DST."""
    day, now = local.date(), local.time()
    yesterday = day - timedelta(days=1)
    for s, e in cal.weekly.get(day.weekday(), ()) if day not in cal.holidays else ():
        if (s <= now < e) if s < e else (now >= s):
            return True
    for s, e in cal.weekly.get(yesterday.weekday(), ()) if yesterday not in cal.holidays else ():
        if e <= s and now < e:
            return True
    return False


minute_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.integers(0, 6),
        st.lists(
            st.tuples(minute_times, minute_times).filter(lambda iv: iv[0] != iv[1]), max_size=3
        ),
    ),
    st.frozensets(st.dates(date(2025, 12, 25), date(2026, 1, 10)), max_size=5),
    st.sampled_from(["UTC", "Asia/Kolkata"]),
    st.integers(0, 3 * 24 * 60),
)
def test_between_matches_minute_oracle_without_dst(weekly, holidays, zone, offset_minutes):
    assume(any(weekly.values()))
    cal = Calendar(ZoneInfo(zone), weekly, holidays)
    start = datetime(2025, 12, 28, tzinfo=UTC) + timedelta(minutes=offset_minutes)
    minutes = 2 * 24 * 60
    expected = sum(
        _oracle_is_working(cal, (start + timedelta(minutes=m)).astimezone(cal.tz))
        for m in range(minutes)
    )
    assert between(cal, start, start + timedelta(minutes=minutes)) == expected * MIN
