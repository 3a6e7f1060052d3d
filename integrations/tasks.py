"""Celery tasks for integrations: thin calls into the delivery and import services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from integrations import deliveries, services

log = logging.getLogger("slahub.integrations")


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_webhook(self, delivery_id: int) -> str:
    """Send one webhook delivery; on failure, try again after an exponential backoff."""
    outcome = deliveries.attempt(delivery_id=delivery_id, now=timezone.now())
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task
def retry_due_webhooks() -> int:
    """Re-send deliveries whose retry was lost (e.g. a worker restarted)."""
    ids = deliveries.due_for_retry(now=timezone.now())
    for pk in ids:
        deliver_webhook.delay(pk)
    return len(ids)


@shared_task
def run_import(import_id: int) -> str:
    try:
        record = services.import_run(import_id=import_id, now=timezone.now())
    except Exception as exc:  # an unexpected failure is recorded on the import, not lost
        log.exception("import %s failed", import_id)
        services.import_fail(import_id=import_id, error=str(exc), now=timezone.now())
        raise
    return f"import {record.pk}: {record.status}"
