"""Outbound webhooks: record one delivery per interested subscription inside the
transaction that made the change, send it after commit (Celery), retry with exponential
backoff, and disable a subscription after too many failures in a row."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F

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


def _interested(event: str, team_ids: set[int]) -> list[WebhookSubscription]:
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(is_active=True).select_related("owner")
        if event in (s.events or [])
    ]
    if not subscriptions:
        return []
    from agreements.models import Membership

    owners_in_teams = set(
        Membership.objects.filter(
            user_id__in={s.owner_id for s in subscriptions}, team_id__in=team_ids
        ).values_list("user_id", flat=True)
    )
    return [s for s in subscriptions if s.owner.is_staff or s.owner_id in owners_in_teams]


def record(event: str, items: Iterable[tuple[dict, set[int]]], *, now: datetime) -> int:
    """Record deliveries of `event` for each (data, team ids it concerns); sent on commit."""
    items = list(items)
    if not items or not WebhookSubscription.objects.filter(is_active=True).exists():
        return 0
    deliveries = []
    for data, team_ids in items:
        for subscription in _interested(event, team_ids):
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
    ids = [d.pk for d in deliveries]

    def send() -> None:
        from integrations.tasks import deliver_webhook

        for pk in ids:
            deliver_webhook.delay(pk)

    transaction.on_commit(send)
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
    if not WebhookSubscription.objects.filter(is_active=True).exists():
        return 0
    from leads.models import Obligation

    clocks = Obligation.objects.filter(lead=lead, status=Obligation.Status.OPEN)
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
            for o in clocks
        ],
    }
    teams = {t for t in (lead.sales_team_id, lead.marketing_team_id) if t}
    return record(WebhookEvent.LEAD_HANDED_OFF, [(data, teams)], now=now)


# Sending --------------------------------------------------------------------------------


@dataclass
class Attempt:
    status: str  # delivered | retry | failed | skipped
    retry_in: int | None = None


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    timeout = getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310 # only http(s) URLs are subscribed (WebhookSubscriptionSerializer.validate_url)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


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
    """Send one pending delivery now (outside any transaction) and record the outcome."""
    delivery = (
        WebhookDelivery.objects.select_related("subscription")
        .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .first()
    )
    if delivery is None:
        return Attempt("skipped")
    subscription = delivery.subscription
    if not subscription.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, last_error="The subscription is disabled."
        )
        return Attempt("skipped")
    body, headers = signed_request(delivery, now=now)
    code, error = _post(subscription.url, body, headers)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = code
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
        delivery.save()
        WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0)
        return Attempt("delivered")

    delivery.last_error = error or f"HTTP {code}"
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    subscription.refresh_from_db(fields=["consecutive_failures", "is_active"])
    if subscription.consecutive_failures >= disable_after():
        WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
            is_active=False,
            disabled_at=now,
            disabled_reason=f"{subscription.consecutive_failures} failed deliveries in a row; "
            f"last: {delivery.last_error}"[:300],
        )
        outcome = Attempt("failed")
    elif delivery.attempts >= max_attempts():
        outcome = Attempt("failed")
    else:
        wait = backoff_seconds(delivery.attempts)
        delivery.next_attempt_at = now + timedelta(seconds=wait)
        outcome = Attempt("retry", retry_in=wait)
    if outcome.status == "failed":
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    delivery.save()
    return outcome


def due_for_retry(*, now: datetime) -> list[int]:
    """Pending deliveries whose next try is past due (a worker lost its retry)."""
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now - timedelta(minutes=5)
        ).values_list("pk", flat=True)[:500]
    )
