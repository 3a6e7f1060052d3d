"""Report timings at size (benchmarks/reports_bench.py loads a year of leads and rolls back):
each report page whole, through the test client as the agreement's sales manager, beside its
floor — the page's own SQL statements replayed alone on a raw cursor in the same run (the
database's share; the rest is Python: metrics, tables, template) — then the page tables and
the rollup upkeep as before."""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.table import Row, seconds

LIVE_UP_TO = 200_000  # leads: above, the live-only timings take minutes and are left out


def _target(name: str) -> str:
    if name.endswith("365 days"):
        return "< 1 s (365 days) at 1M"
    return "< 300 ms (30 days) at 1M" if name.endswith("30 days") else "< 300 ms at 1M"


def run(ctx: Context) -> list[Row]:
    from benchmarks import reports_bench

    pages: list[reports_bench.PageTiming] = []
    results = reports_bench.run(ctx.n_leads, live=ctx.n_leads <= LIVE_UP_TO, pages=pages)
    rows = [
        Row(
            f"report: {p.name} (whole page, {p.queries} queries)",
            seconds(p.seconds),
            p.seconds,
            floor="its SQL alone",
            floor_s=p.floor_seconds,
            target=_target(p.name),
        )
        for p in pages
    ]
    rows += [Row(f"report: {name}", seconds(value), value) for name, value in results.items()]
    return rows
