"""Business-time arithmetic for SLA clocks (pure Python, no Django).

A :class:`Calendar` describes weekly working hours in local wall time, an IANA
time zone and holiday dates. Working time is always measured in *real elapsed
time*, so a 22:00-06:00 shift lasts 7 or 9 real hours on a DST night.

Conventions
-----------
* Every public function requires timezone-aware datetimes (``ValueError`` on
  naive ones) and returns aware datetimes in **UTC** (``tzinfo=datetime.UTC``).
  Only the instant matters; use ``.astimezone(cal.tz)`` for display. UTC is
  deliberate: Python adds/subtracts timedeltas on datetimes sharing a zoneinfo
  tzinfo in *wall* time, which is wrong across DST for elapsed-time maths.
* An interval belongs to the local date on which it starts; if that date is a
  holiday the whole interval is skipped. ``end <= start`` means the interval
  ends on the next day (``end == 00:00`` is midnight). ``start == end`` is
  rejected; a 24h day is written as two intervals (00:00-12:00, 12:00-00:00).
* Wall time -> instant: an ambiguous wall time (fall back) is its first
  occurrence (``fold=0``). A non-existent wall time (spring-forward gap) maps
  to the first real instant after the gap, i.e. the transition instant
  (Berlin 2026-03-29 02:30 -> 03:00 CEST). Note: this differs from plain
  ``fold=0`` normalisation, which would give 03:30.
* Overlapping or touching intervals (also across days) are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

__all__ = [
    "Calendar",
    "ClockDuration",
    "add",
    "add_duration",
    "add_working_days",
    "between",
    "is_working",
    "next_working_moment",
    "working_intervals",
]

MAX_IDLE_DAYS = 3700
_NO_WORK = "calendar has no working time within 10 years"
_ONE_DAY = timedelta(days=1)
_MAX_DURATION_DAYS = 36600  # ~100 years; guards the day-walking loops

Interval = tuple[datetime, datetime]


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class Calendar:
    """Weekly working hours (0=Monday..6=Sunday, local wall times), zone and holidays."""

    tz: ZoneInfo
    weekly: Mapping[int, Sequence[tuple[time, time]]]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.tz, tzinfo):
            raise ValueError("tz must be a tzinfo (e.g. ZoneInfo('Europe/Berlin'))")
        normalised: dict[int, tuple[tuple[time, time], ...]] = {}
        for weekday, intervals in dict(self.weekly).items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"weekday keys must be 0 (Monday) .. 6 (Sunday), got {weekday!r}")
            items = []
            for interval in intervals:
                try:
                    start, end = interval
                except (TypeError, ValueError):
                    raise ValueError(
                        f"interval must be a (start, end) pair, got {interval!r}"
                    ) from None
                if not isinstance(start, time) or not isinstance(end, time):
                    raise ValueError(f"interval bounds must be datetime.time, got {interval!r}")
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError("interval times must be naive local wall times")
                start, end = start.replace(fold=0), end.replace(fold=0)
                if start == end:
                    raise ValueError(
                        f"interval {start}-{end} has start == end; "
                        "write a 24h day as 00:00-12:00 and 12:00-00:00"
                    )
                items.append((start, end))
            if items:
                normalised[weekday] = tuple(sorted(items))
        if not normalised:
            raise ValueError("calendar needs at least one working interval")
        holidays = frozenset(self.holidays)
        for day in holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"holidays must be dates, got {day!r}")
        object.__setattr__(self, "weekly", MappingProxyType(normalised))  # read-only
        object.__setattr__(self, "holidays", holidays)

    def __hash__(self) -> int:
        return hash((self.tz, tuple(sorted(self.weekly.items())), self.holidays))

    def is_working_day(self, day: date) -> bool:
        """A non-holiday date whose weekday has at least one interval."""
        return day not in self.holidays and day.weekday() in self.weekly


# --------------------------------------------------------------------------- durations

_DURATION_RE = re.compile(
    r"P(?:(?P<w>[0-9]+)W)?(?:(?P<d>[0-9]+)D)?"
    r"(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+)S)?)?"
)


@dataclass(frozen=True)
class ClockDuration:
    """SLA target. ``days`` are working days (business clock) or 24h each (calendar clock)."""

    days: int = 0
    seconds: int = 0

    def __post_init__(self) -> None:
        for name in ("days", "seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.days + self.seconds // 86400 > _MAX_DURATION_DAYS:
            raise ValueError("duration too long (max ~100 years)")

    @classmethod
    def parse(cls, text: str) -> ClockDuration:
        """Parse ``P[nW][nD][T[nH][nM][nS]]`` (unsigned integers only), e.g. ``P1DT4H``.
        Remembered: a replay parses the same few terms for every clock it runs."""
        if not isinstance(text, str):
            return cls._parse(text)
        return _parse_remembered(cls, text)

    @classmethod
    def _parse(cls, text: str) -> ClockDuration:
        match = _DURATION_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None or text == "P" or text.endswith("T"):
            raise ValueError(
                f"invalid duration {text!r}: expected ISO 8601 like 'PT4H', 'P2D', "
                "'P1DT4H30M' or 'P1W' (no years/months, fractions or signs)"
            )
        n = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        return cls(days=n["w"] * 7 + n["d"], seconds=n["h"] * 3600 + n["m"] * 60 + n["s"])

    def isoformat(self) -> str:
        """Canonical form: ``PT0S``, ``PT4H``, ``P2D``, ``P1DT4H30M`` (weeks as days)."""
        if not self.days and not self.seconds:
            return "PT0S"
        out = "P"
        if self.days:
            out += f"{self.days}D"
        if self.seconds:
            hours, rest = divmod(self.seconds, 3600)
            minutes, seconds = divmod(rest, 60)
            out += "T"
            out += f"{hours}H" if hours else ""
            out += f"{minutes}M" if minutes else ""
            out += f"{seconds}S" if seconds else ""
        return out

    def __str__(self) -> str:
        return self.isoformat()

    def as_timedelta(self) -> timedelta:
        """Real elapsed time: days * 24h + seconds (for calendar clocks)."""
        return timedelta(days=self.days, seconds=self.seconds)


# --------------------------------------------------------------------------- internals


def _utc(dt: datetime, name: str = "datetime") -> datetime:
    if not isinstance(dt, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(UTC)


@lru_cache(maxsize=65536)
def _localize(tz: tzinfo, day: date, wall: time) -> datetime:
    """UTC instant of local wall time (fold=0; times in a DST gap -> end of the gap)."""
    naive = datetime.combine(day, wall)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In a gap: fold=1 applies the later offset (an instant before the transition),
    # fold=0 the earlier one (an instant after it). Bisect for the transition (whole
    # seconds, as in tzdata).
    before = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    after_offset = instant.astimezone(tz).utcoffset()
    lo, hi = 0, int((instant - before).total_seconds())  # offset(before+lo) != after_offset
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (before + timedelta(seconds=mid)).astimezone(tz).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    return before + timedelta(seconds=hi)


def _local_midnight(cal: Calendar, day: date) -> datetime:
    return _localize(cal.tz, day, time(0))


def _day_intervals(cal: Calendar, day: date) -> list[Interval]:
    """Raw UTC intervals owned by local ``day`` (empty on holidays)."""
    if day in cal.holidays:
        return []
    result = []
    for start, end in cal.weekly.get(day.weekday(), ()):
        s = _localize(cal.tz, day, start)
        e = _localize(cal.tz, day + _ONE_DAY if end <= start else day, end)
        if e > s:  # an interval entirely inside a DST gap is empty
            result.append((s, e))
    return result


def _merged(cal: Calendar, start: datetime, until: datetime | None = None) -> Iterator[Interval]:
    """Merged UTC working intervals ending after ``start`` (and starting before ``until``).

    Walks day by day. Intervals of day d start at or after local midnight of d and end
    by local midnight of d+2, so once day d is added every buffered interval ending
    before midnight(d+1) is final.
    """
    day = start.astimezone(cal.tz).date() - 2 * _ONE_DAY
    pending: list[list[datetime]] = []
    idle = 0
    while True:
        if until is not None and _local_midnight(cal, day) >= until:
            for s, e in pending:
                if e > start:
                    yield s, e
            return
        raw = _day_intervals(cal, day)
        if raw:
            merged: list[list[datetime]] = []
            for s, e in sorted([(s, e) for s, e in pending] + raw):
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            pending = merged
        day += _ONE_DAY
        boundary = _local_midnight(cal, day)
        while pending and pending[0][1] < boundary:
            s, e = pending.pop(0)
            if e > start:
                idle = 0
                yield s, e
        if pending and pending[0][0] < boundary - _ONE_DAY and until is None:
            # Round-the-clock work never ends an interval: hand it out a day at a time.
            s, cut = pending[0][0], boundary - _ONE_DAY
            pending[0][0] = cut
            if cut > start:
                idle = 0
                yield s, cut
        idle += 1
        if until is None and idle > MAX_IDLE_DAYS:
            raise ValueError(_NO_WORK)


def _first_ending_after(cal: Calendar, at: datetime) -> Interval:
    return next(_merged(cal, at))


# --------------------------------------------------------------------------- public API


def working_intervals(cal: Calendar, start: datetime, end: datetime) -> Iterator[Interval]:
    """UTC working intervals overlapping ``[start, end)``, clipped, merged, in order."""
    a, b = _utc(start, "start"), _utc(end, "end")
    if b <= a:
        return
    for s, e in _merged(cal, a, b):
        if s >= b:
            return
        yield max(s, a), min(e, b)


def is_working(cal: Calendar, at: datetime) -> bool:
    """True if ``at`` lies inside working time (interval starts inclusive, ends exclusive)."""
    t = _utc(at, "at")
    s, _ = _first_ending_after(cal, t)
    return s <= t


def next_working_moment(cal: Calendar, at: datetime) -> datetime:
    """``at`` itself if it is working time, else the start of the next working interval."""
    t = _utc(at, "at")
    s, _ = _first_ending_after(cal, t)
    return max(s, t)


def add(cal: Calendar, start: datetime, work: timedelta) -> datetime:
    """Instant at which ``work`` of working time has elapsed after ``start``.

    ``work == 0`` returns ``start``. For ``work > 0`` the result lies inside a working
    interval or exactly at its end (16:00 + 1h with 09-17 -> 17:00, not next morning).
    """
    t = _utc(start, "start")
    if not isinstance(work, timedelta) or work < timedelta(0):
        raise ValueError(f"work must be a non-negative timedelta, got {work!r}")
    if not work:
        return t
    remaining = work
    for s, e in _merged(cal, t):
        s = max(s, t)
        if remaining <= e - s:
            return s + remaining
        remaining -= e - s
    raise AssertionError("unreachable")  # pragma: no cover


def between(cal: Calendar, a: datetime, b: datetime) -> timedelta:
    """Working time in ``[a, b)``; ``-between(cal, b, a)`` if ``b < a``."""
    ua, ub = _utc(a, "a"), _utc(b, "b")
    if ub < ua:
        return -between(cal, b, a)
    total = timedelta(0)
    for s, e in working_intervals(cal, ua, ub):
        total += e - s
    return total


def add_working_days(cal: Calendar, start: datetime, days: int) -> datetime:
    """Step ``days`` working days forward keeping the local wall time.

    ``start`` is first moved to :func:`next_working_moment`. The day count starts from
    the date that owns the interval containing that moment (for an overnight shift,
    Saturday 02:00 belongs to Friday's shift, so +1 day gives Tuesday 02:00). If the
    wall time is not working time on the target day, the next working moment is used.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a non-negative int, got {days!r}")
    moment = next_working_moment(cal, start)
    local = moment.astimezone(cal.tz)
    owner = local.date()
    if not any(s <= moment < e for s, e in _day_intervals(cal, owner)):
        previous = owner - _ONE_DAY
        if any(s <= moment < e for s, e in _day_intervals(cal, previous)):
            owner = previous
    offset = local.date() - owner
    target = owner
    for _ in range(days):
        target += _ONE_DAY
        idle = 0
        while not cal.is_working_day(target):
            target += _ONE_DAY
            idle += 1
            if idle > MAX_IDLE_DAYS:
                raise ValueError(_NO_WORK)
    if not days:
        return moment
    wall = local.time().replace(tzinfo=None, fold=0)
    return next_working_moment(cal, _localize(cal.tz, target + offset, wall))


def add_duration(
    cal: Calendar | None, start: datetime, duration: ClockDuration, clock: str
) -> datetime:
    """Deadline for ``duration`` on a ``"calendar"`` or ``"business"`` clock.

    Calendar clock: ``start`` + real elapsed time (P1D = 24 real hours; ``cal`` may be
    None). Business clock: whole working days via :func:`add_working_days`, then the
    seconds part via :func:`add`.
    """
    t = _utc(start, "start")
    if not isinstance(duration, ClockDuration):
        raise ValueError(f"duration must be a ClockDuration, got {duration!r}")
    if clock == "calendar":
        return t + duration.as_timedelta()
    if clock == "business":
        if cal is None:
            raise ValueError("a business clock needs a calendar")
        base = add_working_days(cal, start, duration.days) if duration.days else start
        return add(cal, base, timedelta(seconds=duration.seconds))
    raise ValueError(f"clock must be 'calendar' or 'business', got {clock!r}")


@lru_cache(maxsize=512)
def _parse_remembered(cls: type[ClockDuration], text: str) -> ClockDuration:
    return cls._parse(text)
