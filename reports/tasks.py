"""Celery task: keep the report rollups current (a thin call into `reports.refresh`)."""

import logging

from celery import shared_task
from django.utils import timezone

from reports import refresh

log = logging.getLogger("slahub.checks")


@shared_task
def refresh_rollups() -> str:
    line = str(refresh.refresh(now=timezone.now()))
    log.info(line)
    return line
