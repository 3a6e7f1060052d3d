"""Celery tasks for agreements: thin calls into the services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from agreements import replay


@shared_task(acks_late=True)
def run_replay(run_id: int) -> str:
    """Run one recorded what-if replay (the page polls its progress)."""
    return replay.run_one(run_id, now=timezone.now())
