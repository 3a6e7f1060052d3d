"""Outbound webhooks: record one delivery per interested subscription inside the
transaction that made the change, send it after commit (Celery), retry with exponential
backoff, and disable a subscription after too many failures in a row.

Sending follows the email outbox (alerts/delivery.py):

1. *Claim* one delivery with a conditional UPDATE (`alerts.outbox`, the rule every outbox
   follows) — `pending`, or `sending` with an expired lease — to `sending` with a fresh
   `claim_token`, `lease_until` and `attempts + 1`. Only the attempt that changed the row
   goes on: a late Celery retry and the sweeper's message for the same delivery, or two
   workers, never send it twice.
2. *Send* outside any transaction, by the webhook channel (`alerts.channels.webhook`,
   through integrations/egress.py: public addresses only, the
   resolved address checked and connected to, no redirects).
3. *Mark* with an UPDATE conditional on the token: `delivered`, back to `pending` with
   backoff, or `failed`.

The one at-least-once window: a worker that dies after the receiver answered 2xx and
before step 3 committed leaves the row `sending`; after the lease it is sent again, with
the same `X-SLAHub-Delivery` id (the envelope's `id`), so the receiver can drop the copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q

from alerts import outbox
from alerts.channels import webhook as webhook_channel
from integrations import signing
from integrations.models import WebhookDelivery, WebhookEvent, WebhookSubscription

USER_AGENT = "SLA-Hub-Webhooks/1"


def max_attempts() -> int:
    return getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6)


def disable_after() -> int:
    return getattr(settings, "WEBHOOK_DISABLE_AFTER_FAILURES", 10)


def backoff_seconds(attempts: int) -> int:
    """Wait before the next try after `attempts` failed ones: 1, 2, 4, 8… minutes, ≤ 6 h."""
    base = getattr(settings, "WEBHOOK_BACKOFF_BASE_SECONDS", 60)
    return min(base * 2 ** max(attempts - 1, 0), 6 * 3600)


# Recording ------------------------------------------------------------------------------


def _subscribers(event: str) -> list[WebhookSubscription]:
    return [
        s
        for s in WebhookSubscription.objects.filter(is_active=True).select_related("owner")
        if event in (s.events or [])
    ]


def _owner_teams(subscriptions: list[WebhookSubscription], team_ids: set[int]) -> set[tuple]:
    """(owner id, team id) of the subscription owners who are members of these teams."""
    from agreements.models import Membership

    return set(
        Membership.objects.filter(
            user_id__in={s.owner_id for s in subscriptions}, team_id__in=team_ids
        ).values_list("user_id", "team_id")
    )


def record(event: str, items: Iterable[tuple[dict, set[int]]], *, now: datetime) -> int:
    """Record deliveries of `event` for each (data, team ids it concerns) to every active
    subscription whose owner may see it (staff, or a member of one of the teams); sent on
    commit. Three queries for the whole batch, whatever its size."""
    items = list(items)
    if not items:
        return 0
    subscriptions = _subscribers(event)
    if not subscriptions:
        return 0
    members = _owner_teams(subscriptions, {t for _, teams in items for t in teams})
    deliveries = []
    for data, team_ids in items:
        for subscription in subscriptions:
            if subscription.owner.is_staff or any(
                (subscription.owner_id, t) in members for t in team_ids
            ):
                deliveries.append(
                    WebhookDelivery(
                        subscription=subscription,
                        event=event,
                        payload={"event": event, "created_at": now.isoformat(), "data": data},
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
    if not deliveries:
        return 0
    WebhookDelivery.objects.bulk_create(deliveries)
    from integrations.tasks import deliver_webhook
    from slahub.queueing import enqueue_many_after_commit

    # Best effort: a delivery whose message is lost is sent by the retry sweeper.
    enqueue_many_after_commit(deliver_webhook, [(d.pk,) for d in deliveries])
    return len(deliveries)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _agreement_teams(obligation_ids: list[int]) -> dict[int, set[int]]:
    from leads.models import Obligation

    rows = Obligation.objects.filter(pk__in=obligation_ids).values_list(
        "pk",
        "agreement_version__agreement__marketing_team_id",
        "agreement_version__agreement__sales_team_id",
    )
    return {pk: {m, s} for pk, m, s in rows}


def breach_data(breach) -> dict:
    return {
        "id": breach.pk,
        "obligation": breach.obligation_id,
        "kind": breach.kind,
        "side": breach.side,
        "team": breach.team_id,
        "user": breach.user_id,
        "lead": breach.lead_id,
        "due_at": _iso(breach.due_at),
        "detected_at": _iso(breach.detected_at),
        "status": breach.status,
        "resolution": breach.resolution,
    }


def obligation_data(obligation) -> dict:
    return {
        "id": obligation.pk,
        "kind": obligation.kind,
        "side": obligation.side,
        "team": obligation.team_id,
        "user": obligation.user_id,
        "lead": obligation.lead_id,
        "attempt": obligation.attempt,
        "starts_at": _iso(obligation.starts_at),
        "warn_at": _iso(obligation.warn_at),
        "due_at": _iso(obligation.due_at),
        "period_start": _iso(obligation.period_start),
        "target": obligation.target,
        "actual": obligation.actual,
    }


def on_breaches(breaches: list, *, now: datetime, event: str) -> int:
    if not breaches or not WebhookSubscription.objects.filter(is_active=True).exists():
        return 0
    teams = _agreement_teams([b.obligation_id for b in breaches])
    return record(
        event,
        ((breach_data(b), {b.team_id} | teams.get(b.obligation_id, set())) for b in breaches),
        now=now,
    )


def on_obligations(obligations: list, *, now: datetime, event: str) -> int:
    if not obligations or not WebhookSubscription.objects.filter(is_active=True).exists():
        return 0
    teams = _agreement_teams([o.pk for o in obligations])
    return record(
        event,
        ((obligation_data(o), {o.team_id} | teams.get(o.pk, set())) for o in obligations),
        now=now,
    )


def on_lead_handed_off(lead, *, now: datetime) -> int:
    return on_leads_handed_off([lead], now=now)


def on_leads_handed_off(leads: list, *, now: datetime) -> int:
    """One `lead.handed_off` delivery per lead and interested subscription, with the
    lead's open clocks (read in one query for all the leads)."""
    if not leads or not WebhookSubscription.objects.filter(is_active=True).exists():
        return 0
    from leads.models import Obligation

    clocks: dict[int, list] = {lead.pk: [] for lead in leads}
    for o in Obligation.objects.filter(lead_id__in=list(clocks), status=Obligation.Status.OPEN):
        clocks[o.lead_id].append(o)
    items = []
    for lead in leads:
        data = {
            "id": lead.pk,
            "source_system": lead.source_system,
            "external_id": lead.external_id,
            "name": lead.name,
            "stage": lead.stage,
            "owner": lead.owner_id,
            "sales_team": lead.sales_team_id,
            "marketing_team": lead.marketing_team_id,
            "handed_off_at": _iso(lead.handed_off_at),
            "open_obligations": [
                {"id": o.pk, "kind": o.kind, "attempt": o.attempt, "due_at": _iso(o.due_at)}
                for o in clocks[lead.pk]
            ],
        }
        teams = {t for t in (lead.sales_team_id, lead.marketing_team_id) if t}
        items.append((data, teams))
    return record(WebhookEvent.LEAD_HANDED_OFF, items, now=now)


# Sending --------------------------------------------------------------------------------


@dataclass
class Attempt:
    status: str  # delivered | retry | failed | skipped
    retry_in: int | None = None


def lease_seconds() -> int:
    return getattr(settings, "WEBHOOK_LEASE_SECONDS", 600)


def claim(*, delivery_id: int, now: datetime) -> tuple[str, WebhookDelivery | None]:
    """Claim one delivery for this attempt (`alerts.outbox.claim_one`: a conditional
    UPDATE); (token, row) or (token, None) when it is already sent or held by another live
    attempt. A pending row is claimed even before its next try is due: the Celery retry
    carrying it may run a little early, and only one attempt can hold the claim."""
    token = outbox.claim_one(
        WebhookDelivery, delivery_id, now=now, lease_seconds=lease_seconds(), pending_due=False
    )
    if token is None:
        return "", None
    return token, WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)


def _mark(delivery: WebhookDelivery, token: str, **fields) -> bool:
    """Write the outcome if this attempt still holds the claim."""
    return bool(outbox.settle(WebhookDelivery, [delivery.pk], token, **fields))


def signed_request(delivery: WebhookDelivery, *, now: datetime) -> tuple[bytes, dict[str, str]]:
    envelope = {"id": str(delivery.event_id), **delivery.payload}
    body = json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-SLAHub-Event": delivery.event,
        "X-SLAHub-Delivery": str(delivery.event_id),
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.sign(delivery.subscription.secret, timestamp, body),
    }
    return body, headers


def attempt(*, delivery_id: int, now: datetime) -> Attempt:
    """Claim one delivery, send it (outside any transaction) and record the outcome."""
    token, delivery = claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return Attempt("skipped")
    subscription = delivery.subscription
    if not subscription.is_active:
        _mark(
            delivery,
            token,
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            last_error="The subscription is disabled.",
        )
        return Attempt("skipped")
    body, headers = signed_request(delivery, now=now)
    outcome = webhook_channel.send(subscription.url, body, headers)
    code, error = outcome.code, outcome.error
    if outcome.sent:
        _mark(
            delivery,
            token,
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=now,
            next_attempt_at=None,
            last_attempt_at=now,
            last_status_code=code,
            last_error="",
        )
        WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0)
        return Attempt("delivered")

    error = error or f"HTTP {code}"
    failed = {"last_attempt_at": now, "last_status_code": code, "last_error": error[:500]}
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    subscription.refresh_from_db(fields=["consecutive_failures", "is_active"])
    if subscription.consecutive_failures >= disable_after():
        WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
            is_active=False,
            disabled_at=now,
            disabled_reason=f"{subscription.consecutive_failures} failed deliveries in a row; "
            f"last: {error}"[:300],
        )
    elif delivery.attempts < max_attempts():
        wait = backoff_seconds(delivery.attempts)
        _mark(
            delivery,
            token,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=now + timedelta(seconds=wait),
            **failed,
        )
        return Attempt("retry", retry_in=wait)
    _mark(delivery, token, status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **failed)
    return Attempt("failed")


def due_for_retry(*, now: datetime) -> list[int]:
    """Deliveries nobody is sending although they are due: pending and 5 minutes past their
    next try (the message was lost: broker down, worker restarted), or `sending` with an
    expired lease (the worker died holding it)."""
    Status = WebhookDelivery.Status
    return list(
        WebhookDelivery.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now - timedelta(minutes=5))
            | Q(status=Status.SENDING, lease_until__lte=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:500]
    )
