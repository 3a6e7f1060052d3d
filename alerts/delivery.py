"""Delivering the outbox: claim due rows, send each through Django's email backend, mark it.

1. *Claim* (one short transaction): due rows — pending and past `next_attempt_at`, or
   `sending` with an expired lease (a deliverer died holding them) — are locked with
   SELECT … FOR UPDATE SKIP LOCKED and set to `sending` with this run's `claim_token`, a
   lease (`lease_until`) and `attempts + 1`. Two deliverers never claim the same row.
2. *Send* (no transaction open, no lock held): one SMTP conversation per row.
3. *Mark* (one autocommit UPDATE per row, right after the server accepted the message):
   `sent`, or back to `pending` with exponential backoff and the error, or `failed` after
   settings.ALERTS_MAX_ATTEMPTS.

The one at-least-once window: if the process dies after the SMTP server accepted a message
and before step 3 committed (a few milliseconds), the lease expires and the row is sent
again. Every copy carries the same Message-ID (`<alert-<id>@slahub>`), so a duplicate is
recognisable. Everything else is exactly once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q

from alerts.models import Alert

log = logging.getLogger("slahub.alerts")
Status = Alert.Status


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"alert delivery: {self.sent} sent, {self.retrying} to retry, {self.failed} given up"


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: base, 2×base, 4×base … capped."""
    base = settings.ALERTS_RETRY_BASE_SECONDS
    return timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), settings.ALERTS_RETRY_MAX_SECONDS)
    )


def claimable(now: datetime):
    return Alert.objects.filter(
        Q(status=Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Status.SENDING, lease_until__lte=now)
    )


def claim(*, now: datetime, limit: int) -> tuple[str, list[Alert]]:
    """Claim up to `limit` due rows for this deliverer; returns (claim token, rows)."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            claimable(now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return token, []
        # Re-checking the condition keeps the claim safe where FOR UPDATE is a no-op (SQLite).
        claimable(now).filter(pk__in=ids).update(
            status=Status.SENDING,
            claim_token=token,
            lease_until=now + timedelta(seconds=settings.ALERTS_LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    return token, list(
        Alert.objects.filter(claim_token=token, status=Status.SENDING).order_by("id")
    )


def message_for(alert: Alert, connection=None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=alert.subject,
        body=alert.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[alert.to_email],
        headers={"Message-ID": alert.message_id, "X-SLAHub-Alert": alert.key},
        connection=connection,
    )
    if alert.body_html:
        message.attach_alternative(alert.body_html, "text/html")
    return message


def _mark_sent(alert: Alert, token: str, *, now: datetime) -> None:
    Alert.objects.filter(pk=alert.pk, claim_token=token, status=Status.SENDING).update(
        status=Status.SENT, sent_at=now, lease_until=None, last_error=""
    )


def _mark_failed(alert: Alert, token: str, error: Exception, *, now: datetime) -> bool:
    """Back to pending with backoff, or failed for good; returns whether it will retry."""
    retry = alert.attempts < settings.ALERTS_MAX_ATTEMPTS
    Alert.objects.filter(pk=alert.pk, claim_token=token, status=Status.SENDING).update(
        status=Status.PENDING if retry else Status.FAILED,
        next_attempt_at=now + backoff(alert.attempts),
        lease_until=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    return retry


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a broken connection is reopened by the next send
        log.debug("closing the email connection failed", exc_info=True)


def retry_now(alert_ids: list[int], *, now: datetime) -> int:
    """Put failed or pending alerts back in line for the next delivery run."""
    return Alert.objects.filter(
        pk__in=alert_ids, status__in=[Status.FAILED, Status.PENDING]
    ).update(status=Status.PENDING, next_attempt_at=now)


def deliver_batch(*, now: datetime, limit: int | None = None) -> DeliveryResult:
    """Claim one batch and send it; see the module docstring."""
    result = DeliveryResult()
    token, alerts = claim(now=now, limit=limit or settings.ALERTS_BATCH_SIZE)
    if not alerts:
        return result
    connection = get_connection(fail_silently=False)
    for alert in alerts:
        try:
            connection.send_messages([message_for(alert, connection)])
        except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
            log.warning("alert %s to %s not sent: %s", alert.pk, alert.to_email, exc)
            if _mark_failed(alert, token, exc, now=now):
                result.retrying += 1
            else:
                result.failed += 1
            _close_quietly(connection)  # the next row opens a fresh connection
        else:
            _mark_sent(alert, token, now=now)
            result.sent += 1
    _close_quietly(connection)
    return result


def deliver_pending(*, now: datetime, limit: int | None = None, max_batches: int = 50):
    """Deliver batches until nothing is due at `now` (or `max_batches` were sent)."""
    total = DeliveryResult()
    for _ in range(max_batches):
        batch = deliver_batch(now=now, limit=limit)
        total.sent += batch.sent
        total.retrying += batch.retrying
        total.failed += batch.failed
        if not (batch.sent or batch.retrying or batch.failed):
            break
    return total
