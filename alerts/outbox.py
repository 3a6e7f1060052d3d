"""The claim-and-lease machinery shared by every outbox of SLA Hub: email alerts
(`alerts.delivery`), chat messages to Slack and Teams (`alerts.chat_delivery`) and signed
webhooks (`integrations.deliveries`).

A row is sent by whoever *claims* it: one conditional UPDATE moves due rows (pending and
due, or `sending` with an expired lease) to `sending` with a fresh `claim_token`, a lease
(`lease_until`) and `attempts + 1`. Every outcome is written with an UPDATE conditional on
that token and on `sending`, so an attempt that lost its claim (its lease expired and
another deliverer took the row) cannot overwrite the newer outcome. Two deliverers — a
late Celery retry and the sweeper, two beat runs, two threads — never send a row at once,
and a row marked sent is never claimed again.

The tables stay separate (each holds what its channel needs: an email's rendered bodies,
a webhook's subscription and payload); this module is the one rule they all follow.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import F, Q

PENDING, SENDING = "pending", "sending"


def due(model: type[models.Model], now: datetime, *, pending_due: bool = True) -> models.QuerySet:
    """Rows nobody holds that may be sent at `now`: pending (and due, when `pending_due`),
    or claimed by a deliverer whose lease has expired (it died holding them)."""
    pending = Q(status=PENDING, next_attempt_at__lte=now) if pending_due else Q(status=PENDING)
    return model._default_manager.filter(pending | Q(status=SENDING, lease_until__lte=now))


def claim_batch(
    model: type[models.Model], *, now: datetime, limit: int, lease_seconds: int
) -> tuple[str, list[int]]:
    """Claim up to `limit` due rows (SELECT … FOR UPDATE SKIP LOCKED, then one UPDATE);
    returns (claim token, claimed ids in due order). Two queries whatever the batch size."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            due(model, now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return token, []
        # Re-checking the condition keeps the claim safe where FOR UPDATE is a no-op.
        due(model, now).filter(pk__in=ids).update(
            status=SENDING,
            claim_token=token,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=F("attempts") + 1,
        )
    return token, ids


def claim_one(
    model: type[models.Model], pk: int, *, now: datetime, lease_seconds: int, pending_due: bool
) -> str | None:
    """Claim one row for this attempt; its claim token, or None when it is not due, already
    sent, or held by another live attempt."""
    token = uuid.uuid4().hex
    claimed = (
        due(model, now, pending_due=pending_due)
        .filter(pk=pk)
        .update(
            status=SENDING,
            claim_token=token,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=F("attempts") + 1,
        )
    )
    return token if claimed else None


def settle(model: type[models.Model], pks: list[int], token: str, **fields) -> int:
    """Write an outcome for the rows this claim still holds (one UPDATE); how many it wrote."""
    if not pks:
        return 0
    return model._default_manager.filter(pk__in=pks, claim_token=token, status=SENDING).update(
        lease_until=None, **fields
    )
