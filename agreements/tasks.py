"""Celery tasks for agreements: thin calls into the services. A replay is recorded before
its message is sent; a lost message, or a run whose worker died, is sent again by
`resume_replays` (beat, and `run_checks` for cron-only installs)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from agreements import replay
from slahub.queueing import enqueue


@shared_task(acks_late=True)
def run_replay(run_id: int) -> str:
    """Run one recorded what-if replay (the page polls its progress)."""
    return replay.run_one(run_id, now=timezone.now(), clock=timezone.now)


def sweep_replays(*, now) -> int:
    """Enqueue the replays nobody has started, and those whose worker died (its lease ran
    out); returns how many were sent."""
    replay.release_expired(now=now)
    sent = 0
    for pk in replay.runs_to_resume(now=now).values_list("pk", flat=True)[:100]:
        if not enqueue(run_replay, pk):
            break
        sent += 1
    return sent


@shared_task
def resume_replays() -> int:
    """Beat: enqueue replays whose message was lost or whose worker died."""
    return sweep_replays(now=timezone.now())
