"""Celery tasks for alerts, each a thin call into `alerts.services` / `alerts.delivery`.
Scheduled by CELERY_BEAT_SCHEDULE in slahub/settings.py."""

import logging

from celery import shared_task
from django.utils import timezone

from alerts import chat_delivery, delivery, services

log = logging.getLogger("slahub.alerts")


@shared_task
def deliver_alerts() -> str:
    now = timezone.now()
    line = f"{delivery.deliver_pending(now=now)}; {chat_delivery.deliver_pending(now=now)}"
    log.info(line)
    return line


@shared_task
def escalate_breaches() -> str:
    line = f"escalation: {services.escalate_breaches(now=timezone.now())} breaches escalated"
    log.info(line)
    return line


@shared_task
def send_digests() -> str:
    line = str(services.send_digests(now=timezone.now()))
    log.info(line)
    return line
