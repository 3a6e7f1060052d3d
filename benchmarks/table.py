"""The table `make bench` prints: each hot path beside its floor, measured in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measured path. `floor_s` is the same work done the cheapest way the database allows
    (hand-written SQL, `bulk_create`, `COPY`, a page with no queries), timed in the same run;
    `None` when a path has no floor (then `target` says what it is held to)."""

    path: str
    ours: str
    ours_s: float
    floor: str = ""
    floor_s: float | None = None
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor_s is None or self.floor_s <= 0:
            return None
        return self.ours_s / self.floor_s


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:,.1f} ms"
    return f"{value:,.2f} s"


def markdown(rows: list[Row]) -> str:
    lines = [
        "| path | SLA Hub | floor, same rows, same run | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        floor = f"{row.floor}: {seconds(row.floor_s)}" if row.floor_s is not None else row.floor
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        target = row.target or "—"
        lines.append(f"| {row.path} | {row.ours} | {floor or '—'} | {ratio} | {target} |")
    return "\n".join(lines)


def median_seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    """The median wall time of `repeats` calls of `fn`, in seconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
