"""Celery tasks for integrations: thin calls into the delivery and import services.

Every message here only nudges work that is already recorded in the database; a lost one
is re-sent by the sweepers (`retry_due_webhooks`, `resume_imports`, both also run by
`run_checks`)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone

from integrations import deliveries, services
from slahub.queueing import enqueue

log = logging.getLogger("slahub.integrations")


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_webhook(self, delivery_id: int) -> str:
    """Send one webhook delivery; on failure, try again after an exponential backoff."""
    outcome = deliveries.attempt(delivery_id=delivery_id, now=timezone.now())
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


def sweep_webhooks(*, now) -> int:
    """Enqueue the deliveries nobody is sending; returns how many were enqueued."""
    ids = deliveries.due_for_retry(now=now)
    sent = 0
    for pk in ids:
        if not enqueue(deliver_webhook, pk):
            break
        sent += 1
    return sent


@shared_task
def retry_due_webhooks() -> int:
    """Re-send deliveries whose message or worker was lost (broker down, a worker died)."""
    return sweep_webhooks(now=timezone.now())


@shared_task(bind=True, acks_late=True)
def run_import(self, import_id: int) -> str:
    """Import the next chunk of rows, then enqueue the chunk after it (eagerly: run them
    all here). A chunk cut short by a lost database connection is resumed, not failed."""
    while True:
        try:
            chunk = services.import_run_chunk(import_id=import_id, now=timezone.now())
        except (OperationalError, InterfaceError):
            # The connection dropped (or PostgreSQL restarted): nothing of the open group
            # committed; the import resumes from its stored offset once the lease is released
            # (or has expired, if the database is still away).
            log.warning("import %s: database error; resuming later", import_id, exc_info=True)
            if not connection.in_atomic_block:
                close_old_connections()  # a dead connection is reopened for the release
            try:
                services.import_release(import_id=import_id)
            except (OperationalError, InterfaceError):
                log.warning("import %s: lease not released; the sweeper resumes it", import_id)
            raise
        except Exception as exc:  # an unexpected failure is recorded on the import, not lost
            log.exception("import %s failed", import_id)
            services.import_fail(import_id=import_id, error=str(exc), now=timezone.now())
            raise
        if not chunk.more:
            return f"import {import_id}: {chunk.status}"
        if not self.request.is_eager:
            enqueue(run_import, import_id)  # if the broker is down, resume_imports sends it
            return f"import {import_id}: {chunk.processed_rows} rows so far"


def sweep_imports(*, now) -> int:
    """Enqueue imports that are waiting with nobody working on them."""
    sent = 0
    for pk in services.imports_to_resume(now=now):
        if not enqueue(run_import, pk):
            break
        sent += 1
    return sent


@shared_task
def resume_imports() -> int:
    """Beat: enqueue imports whose message was lost or whose worker died mid-chunk."""
    return sweep_imports(now=timezone.now())
