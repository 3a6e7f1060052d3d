"""Each compliance figure per week or month of the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reports.metrics.filters import SALES_KINDS, ReportFilter, _bucket_of, buckets
from reports.metrics.marketing import Acceptance, acceptance_trend
from reports.metrics.sales import DayCounts, _minutes, day_counts, ttft_summary
from reports.metrics.source import ClockCompliance, _add


@dataclass
class TrendPoint:
    start: date
    first_touch: ClockCompliance
    follow_up: ClockCompliance
    disposition: ClockCompliance
    ttft_median_minutes: float | None
    acceptance: Acceptance


def trend(f: ReportFilter, grain: str, days: DayCounts | None = None) -> list[TrendPoint]:
    """Each compliance figure per week or month (local, Monday weeks): the day counts added
    up per bucket, and the median time to first touch per bucket (one query)."""
    days = days or day_counts(f)
    keys = buckets(f, grain)
    points = {
        k: TrendPoint(k, *(ClockCompliance(kind) for kind in SALES_KINDS), None, Acceptance())
        for k in keys
    }

    for (day, kind), counts in days.clocks.items():
        point = points.get(_bucket_of(grain, day, f.tz))
        if point is not None:
            _add(getattr(point, kind), counts)
    for key, accepted in acceptance_trend(f, grain, days.dispositions).items():
        points[key].acceptance = accepted
    summary = days.ttft or ttft_summary(f)
    for key, seconds in summary.medians[grain].items():
        if key in points:
            points[key].ttft_median_minutes = _minutes(seconds)
    return [points[k] for k in keys]
