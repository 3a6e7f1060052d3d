"""Quota periods (week, month, quarter) cut in a time zone, and pacing within them. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime
    end: datetime

    def elapsed_fraction(self, now: datetime) -> float:
        """Share of the period's real time that has passed at `now`, between 0 and 1."""
        total = (self.end - self.start).total_seconds()
        done = (min(max(now, self.start), self.end) - self.start).total_seconds()
        return done / total

    def next(self) -> Period:
        return period_containing(self.kind, self.end, self.start.tzinfo)  # type: ignore[arg-type]

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(seconds=1), self.start.tzinfo)  # type: ignore[arg-type]


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def period_containing(kind: str, at: datetime, tz: ZoneInfo) -> Period:
    """The week (Monday first), month or quarter holding `at`, with local-midnight bounds."""
    local = at.astimezone(tz).date()
    if kind == "week":
        first = local - timedelta(days=local.weekday())
        after = first + timedelta(days=7)
    elif kind == "month":
        first = local.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    elif kind == "quarter":
        first = date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
        after = (first + timedelta(days=95)).replace(day=1)
    else:
        raise ValueError(f"Unknown period {kind!r}.")
    return Period(kind, _local_midnight(first, tz), _local_midnight(after, tz))


def projected(actual: int, elapsed_fraction: float) -> float:
    """Where the period ends if the pace so far holds."""
    return actual / elapsed_fraction if elapsed_fraction > 0 else 0.0


# Too early in a period the pace says nothing: judge it from this share on.
PACE_MIN_ELAPSED = 0.2


def volume_at_risk(actual: int, target: int, elapsed_fraction: float) -> bool:
    """A volume quota is at risk when, past the first fifth, its pace would miss the target."""
    if actual >= target or elapsed_fraction < PACE_MIN_ELAPSED:
        return False
    return projected(actual, elapsed_fraction) < target


def acceptance_pct(accepted: int, rejected: int) -> float | None:
    total = accepted + rejected
    return None if total == 0 else 100.0 * accepted / total
