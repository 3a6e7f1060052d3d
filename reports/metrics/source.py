"""Where a figure's rows come from: closed local days from the rollups, the rest live.

Only closed days are rolled up; today and later are always read live (see docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from reports import rollups
from reports.metrics.filters import ReportFilter, pct
from reports.metrics.live import clock_rows, disposition_rows


@dataclass
class ClockCompliance:
    """Met share of the decided clocks of one kind (first touch, follow-up, disposition)."""

    kind: str
    decided: int = 0
    met: int = 0
    made: int = 0  # follow-up only: attempts made at all (in time or late)

    @property
    def missed(self) -> int:
        return self.decided - self.met

    @property
    def pct(self) -> float | None:
        return pct(self.met, self.decided)

    @property
    def made_pct(self) -> float | None:
        return pct(self.made, self.decided)


def _add(total: ClockCompliance, more: ClockCompliance) -> None:
    total.decided += more.decided
    total.met += more.met
    total.made += more.made


def rolled_through(f: ReportFilter) -> date | None:
    """The last day of the range read from the rollups (None: all live)."""
    return _split(f)[0]


def _split(f: ReportFilter) -> tuple[date | None, ReportFilter | None]:
    """(the last day to read from the rollups or None, the filter of the rest to read live
    or None). Only closed days are rolled up; today and later are always live."""
    if f.rolled_until is None:
        return None, f
    # A day is read from the rollup only if it had closed at `now` too.
    through = min(f.rolled_until, f.now.astimezone(f.tz).date() - timedelta(days=1))
    if through < f.first_day:
        return None, f
    if through >= f.last_day:
        return f.last_day, None
    day = through + timedelta(days=1)
    return through, replace(f, start=datetime(day.year, day.month, day.day, tzinfo=f.tz))


def _day_rows(f: ReportFilter, by: tuple[str, ...], rolled, live_rows) -> list[dict]:
    """Day rows of the closed days from the rollup (`rolled`), of the rest live
    (`live_rows`): a query each."""
    through, live = _split(f)
    rows: list[dict] = []
    if through is not None:
        rows += rolled(f, through, by)
    if live is not None:
        rows += live_rows(live, by)
    return rows


def clock_days(f: ReportFilter, by: tuple[str, ...] = ()) -> dict[tuple, ClockCompliance]:
    """Lead clocks by local day of their due time, kind (and `by`)."""
    result: dict[tuple, ClockCompliance] = {}
    for r in _day_rows(f, by, rollups.clock_day_rows, clock_rows):
        key = (r["day"], r["kind"], *(r[name] for name in by))
        _add(
            result.setdefault(key, ClockCompliance(r["kind"])),
            ClockCompliance(r["kind"], r["decided"], r["met"], r["made"]),
        )
    return result


def kind_days(clause_days: dict[tuple, ClockCompliance]) -> dict[tuple, ClockCompliance]:
    """`clock_days(f)` from `clock_days(f, by=("clause",))`: a kind's clauses add up to it."""
    result: dict[tuple, ClockCompliance] = {}
    for (day, kind, _), counts in clause_days.items():
        _add(result.setdefault((day, kind), ClockCompliance(kind)), counts)
    return result


def disposition_counts(f: ReportFilter, by: tuple[str, ...] = ()) -> dict[tuple, list[int]]:
    """[accepted, rejected] by local day (and `by`)."""
    result: dict[tuple, list[int]] = {}
    for r in _day_rows(f, by, rollups.disposition_day_rows, disposition_rows):
        counts = result.setdefault((r["day"], *(r[name] for name in by)), [0, 0])
        counts[0] += r["accepted"]
        counts[1] += r["rejected"]
    return result


def disposition_days(f: ReportFilter) -> dict[date, tuple[int, int]]:
    """(accepted, rejected) by local day they happened."""
    return {day: (a, r) for (day,), (a, r) in disposition_counts(f).items()}
