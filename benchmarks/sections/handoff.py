"""One lead at a time through the services: a hand-off, and a touch meeting its first touch."""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.table import Row, median_seconds, seconds


def run(ctx: Context) -> list[Row]:
    from leads import services
    from tests.factories import make_lead

    org, now = ctx.org, ctx.now
    hand_off = median_seconds(lambda: make_lead(org, now=now, handed_off_at=now), 20)
    lead = make_lead(org, now=now, handed_off_at=now)
    touch = median_seconds(
        lambda: services.activity_log(
            lead=lead, kind="call", occurred_at=now, now=now, user=org.rep
        ),
        20,
    )
    return [
        Row("hand-off of one lead (opens its clocks)", f"{seconds(hand_off)} median", hand_off),
        Row("logged touch meeting a first touch", f"{seconds(touch)} median", touch),
    ]
