"""Report timings at size (benchmarks/reports_bench.py loads a year of leads and rolls back)."""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.table import Row, seconds


def run(ctx: Context) -> list[Row]:
    from benchmarks import reports_bench

    return [
        Row(f"report: {name}", seconds(value), value)
        for name, value in reports_bench.run(ctx.n_leads).items()
    ]
