"""Celery tasks: the periodic checks, each a thin call into `leads.checks`."""

import logging

from celery import shared_task
from django.utils import timezone

from leads import checks

log = logging.getLogger("slahub.checks")


@shared_task
def deadline_scan() -> str:
    result = checks.deadline_scan(now=timezone.now())
    if result.breached or result.warned:  # their alert rows are committed: send them now
        from alerts.tasks import deliver_alerts
        from slahub.queueing import enqueue

        enqueue(deliver_alerts)
    line = str(result)
    log.info(line)
    return line


@shared_task
def quota_evaluation() -> str:
    line = str(checks.quota_evaluation(now=timezone.now()))
    log.info(line)
    return line
