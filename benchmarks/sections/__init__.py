"""Sections of `make bench`. Each module exposes `run(ctx: benchmarks.context.Context) ->
list[benchmarks.table.Row]`, builds any extra rows it needs inside the bench database, and
leaves the shared data as it found it (or says so in its docstring). `benchmarks.run` runs
them in the order of SECTIONS; `BENCH_ONLY=ingest,scan` runs a subset."""

SECTIONS = [
    "handoff",
    "ingest",
    "scan",
    "delivery",
    "latency",
    "reports",
    "pages",
    "login",
    "replay",
]
