"""The deadline scan: idle (the every-few-seconds case) and breaching the clocks loaded past due."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from benchmarks.context import Context
from benchmarks.table import Row, seconds


def run(ctx: Context) -> list[Row]:
    from django.db import transaction

    from leads import checks

    now = ctx.now
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        checks.deadline_scan(now=now - timedelta(hours=1))
        samples.append(time.perf_counter() - start)
    idle = statistics.median(samples)
    start = time.perf_counter()
    result = checks.deadline_scan(now=now)
    breach = time.perf_counter() - start
    with transaction.atomic():
        due = checks.open_obligations_due(now).select_for_update(skip_locked=True)
        plan = due.order_by("due_at")[:500].explain()
    index = "obligation_open_due" in plan
    return [
        Row(
            "deadline scan, nothing due",
            f"{seconds(idle)} median; partial index used: {index}",
            idle,
        ),
        Row(f"deadline scan breaching {result.breached} clocks", seconds(breach), breach),
    ]
