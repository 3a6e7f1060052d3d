"""Delivering the chat outbox (`ChannelDelivery`): claim due rows (`alerts.outbox`), read
each destination once per batch, render, send through the channel's transport
(`alerts.channels`), and record the outcome under the claim token.

- sent: marked at once, one conditional UPDATE per row (a crash re-sends at most the one
  message in flight);
- to retry (no answer, 5xx, 429): back to pending after the exponential backoff of the
  email outbox, or after the service's Retry-After when that is longer; the other rows of
  the batch for the same destination wait with it instead of hammering a throttled service;
- permanent (a deleted or archived channel, a revoked token) or out of attempts: `failed`
  with the service's answer, shown on the notification settings page and in the admin.

Failures are written with one UPDATE per (outcome, wait, error) group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from alerts import channels, content, outbox, selectors
from alerts.delivery import backoff
from alerts.models import ChannelDelivery, NotificationSettings

log = logging.getLogger("slahub.alerts")
Status = ChannelDelivery.Status


@dataclass
class ChatResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"chat delivery: {self.sent} sent, {self.retrying} to retry, {self.failed} given up"


def _destinations(rows: list[ChannelDelivery]) -> dict[int, channels.Destination]:
    """The destination of each row (one query for the users' settings of the batch)."""
    user_ids = {row.recipient_id for row in rows if row.recipient_id}
    personal = {s.user_id: s for s in NotificationSettings.objects.filter(user_id__in=user_ids)}
    found = {}
    for row in rows:
        if row.team_channel_id:
            tc = row.team_channel
            if not tc.is_active or tc.channel != row.channel:
                continue
            found[row.pk] = channels.Destination(tc.webhook_url, tc.bot_token, tc.slack_channel)
        else:
            mine = personal.get(row.recipient_id)
            url = getattr(mine, f"{row.channel}_webhook_url", "") if mine else ""
            if url:
                found[row.pk] = channels.Destination(webhook_url=url)
    return found


def _message(row: ChannelDelivery, zones: dict[int, str]) -> channels.ChatMessage:
    if row.team_channel_id:
        team = row.team_channel.team
        tz = ZoneInfo(team.timezone or "UTC")
        title, text, link = content.chat_text(
            row.event, row.facts, None, tz, recipient_name=team.name
        )
    else:
        tz = ZoneInfo(zones[row.recipient_id])
        title, text, link = content.chat_text(row.event, row.facts, row.recipient, tz)
    return channels.ChatMessage(title, text, link)


def _destination_key(destination: channels.Destination) -> tuple:
    return (destination.webhook_url, destination.bot_token, destination.channel)


def deliver_batch(*, now: datetime, limit: int | None = None) -> ChatResult:
    result = ChatResult()
    token, ids = outbox.claim_batch(
        ChannelDelivery,
        now=now,
        limit=limit or settings.ALERTS_BATCH_SIZE,
        lease_seconds=settings.ALERTS_LEASE_SECONDS,
    )
    if not ids:
        return result
    rows = list(
        ChannelDelivery.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING)
        .select_related("recipient", "team_channel__team")
        .order_by("next_attempt_at", "id")
    )
    destinations = _destinations(rows)
    zones = selectors.timezones_for({row.recipient_id for row in rows if row.recipient_id})
    # (status, next attempt, error, code) -> row ids; written after the sends, grouped.
    outcomes: dict[tuple, list[int]] = {}
    throttled: dict[tuple, tuple[datetime, str]] = {}
    for row in rows:
        destination = destinations.get(row.pk)
        if destination is None:
            outcome = channels.Outcome(
                False, "The channel is no longer set up for this destination.", permanent=True
            )
        elif _destination_key(destination) in throttled:
            wait_until, error = throttled[_destination_key(destination)]
            outcomes.setdefault((Status.PENDING, wait_until, error, 429), []).append(row.pk)
            result.retrying += 1
            continue
        else:
            try:
                message = _message(row, zones)
            except Exception as exc:  # noqa: BLE001 - one bad snapshot must not stop the batch
                log.exception("chat delivery %s could not be rendered", row.pk)
                outcome = channels.Outcome(False, f"{type(exc).__name__}: {exc}")
            else:
                outcome = channels.transport(row.channel).send(destination, message)
        if outcome.sent:
            outbox.settle(
                ChannelDelivery,
                [row.pk],
                token,
                status=Status.SENT,
                sent_at=now,
                last_error="",
                last_status_code=outcome.code,
            )
            result.sent += 1
            continue
        log.warning("chat delivery %s (%s) not sent: %s", row.pk, row.channel, outcome.error)
        if outcome.permanent or row.attempts >= settings.ALERTS_MAX_ATTEMPTS:
            outcomes.setdefault((Status.FAILED, now, outcome.error, outcome.code), []).append(
                row.pk
            )
            result.failed += 1
            continue
        wait = backoff(row.attempts)
        if outcome.retry_after:
            wait = max(wait, timedelta(seconds=outcome.retry_after))
            throttled[_destination_key(destination)] = (now + wait, outcome.error)
        outcomes.setdefault((Status.PENDING, now + wait, outcome.error, outcome.code), []).append(
            row.pk
        )
        result.retrying += 1
    for (status, next_at, error, code), pks in outcomes.items():
        outbox.settle(
            ChannelDelivery,
            pks,
            token,
            status=status,
            next_attempt_at=next_at,
            last_error=error[:2000],
            last_status_code=code,
        )
    return result


def deliver_pending(*, now: datetime, max_batches: int = 50) -> ChatResult:
    """Drain the chat outbox: batches until nothing is due at `now` (or `max_batches`)."""
    total = ChatResult()
    for _ in range(max_batches):
        batch = deliver_batch(now=now)
        total.sent += batch.sent
        total.retrying += batch.retrying
        total.failed += batch.failed
        if not (batch.sent or batch.retrying or batch.failed):
            break
    return total


def retry_now(delivery_ids: list[int], *, now: datetime) -> int:
    """Put failed or pending chat deliveries back in line for the next run."""
    return ChannelDelivery.objects.filter(
        Q(status=Status.FAILED) | Q(status=Status.PENDING), pk__in=delivery_ids
    ).update(status=Status.PENDING, next_attempt_at=now)
