"""Celery tasks for connectors: the beat pull and 'sync now'. Runs are rows first; a lost
message or a dead worker is picked up by the next `sync_connectors` beat."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from connectors import sync
from connectors.models import SyncRun
from slahub.queueing import enqueue

log = logging.getLogger("slahub.connectors")


@shared_task(acks_late=True)
def run_sync(run_id: int) -> str:
    try:
        run = sync.sync_run(run_id=run_id, clock=timezone.now)
    except (OperationalError, InterfaceError):
        log.warning("sync %s: database error; the next beat resumes it", run_id, exc_info=True)
        raise
    except Exception as exc:  # recorded on the run (the type only: no payload, no secret)
        log.exception("sync %s failed", run_id)
        SyncRun.objects.filter(pk=run_id).exclude(status=SyncRun.Status.DONE).update(
            status=SyncRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"Unexpected error ({type(exc).__name__}); see the worker log.",
        )
        raise
    return f"sync {run_id}: {run.status}"


@shared_task
def sync_connectors() -> int:
    """Beat: start each enabled connector's scheduled run, and resume waiting ones."""
    every = timedelta(minutes=getattr(settings, "SLAHUB_CONNECTOR_SYNC_MINUTES", 5))
    sent = 0
    for pk in sync.runs_due(now=timezone.now(), every=every):
        if not enqueue(run_sync, pk):
            break
        sent += 1
    return sent
