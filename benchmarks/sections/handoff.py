"""One lead at a time through the services: a hand-off, and a touch meeting its first touch."""

from __future__ import annotations

import statistics
import time

from benchmarks.context import Context
from benchmarks.table import Row, seconds


def _median(fn, repeats: int = 20) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(ctx: Context) -> list[Row]:
    from leads import services
    from tests.factories import make_lead

    org, now = ctx.org, ctx.now
    hand_off = _median(lambda: make_lead(org, now=now, handed_off_at=now))
    lead = make_lead(org, now=now, handed_off_at=now)
    touch = _median(
        lambda: services.activity_log(
            lead=lead, kind="call", occurred_at=now, now=now, user=org.rep
        )
    )
    return [
        Row("hand-off of one lead (opens its clocks)", f"{seconds(hand_off)} median", hand_off),
        Row("logged touch meeting a first touch", f"{seconds(touch)} median", touch),
    ]
