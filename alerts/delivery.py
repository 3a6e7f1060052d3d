"""Delivering the outbox: claim due rows, render them, send them over one connection of
Django's email backend, mark each one sent as soon as the server accepted it.

1. *Claim* (one short transaction): due rows — pending and past `next_attempt_at`, or
   `sending` with an expired lease (a deliverer died holding them) — are locked with
   SELECT … FOR UPDATE SKIP LOCKED and set to `sending` with this run's `claim_token`, a
   lease (`lease_until`) and `attempts + 1`. Two deliverers never claim the same row.
2. *Render* (no transaction open): rows stored as a snapshot (`Alert.facts`, written by the
   checks) are rendered for their recipient, in memory.
3. *Send* (no transaction open, no lock held): over one SMTP connection for the whole run,
   reopened after a failed message.
4. *Mark*, keyed by the claim token: each accepted row at once (one conditional UPDATE,
   which also stores the subject and bodies rendered in step 2, so a crash re-sends at
   most the one message in flight — the SMTP round trip costs far more than the UPDATE;
   it does not wait for the WAL flush, see `_ASYNC_COMMIT`); failures back to `pending`
   with exponential backoff and the error (one UPDATE per attempts and error), or `failed`
   after settings.ALERTS_MAX_ATTEMPTS.

`deliver_pending` repeats this until nothing is due or ALERTS_DELIVERY_BUDGET_SECONDS pass.

The one at-least-once window: if the process dies after the SMTP server accepted a message
and before the UPDATE marking it committed, the lease expires and that row is sent again.
Every copy carries the same Message-ID (`<alert-<id>@slahub>`), so a duplicate is
recognisable. Everything else is exactly once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection as db

from alerts import outbox, selectors
from alerts.channels import email as email_channel
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
    return outbox.due(Alert, now)


def claim(*, now: datetime, limit: int) -> tuple[str, list[Alert]]:
    """Claim up to `limit` due rows for this deliverer (`alerts.outbox`); returns (claim
    token, rows)."""
    token, ids = outbox.claim_batch(
        Alert, now=now, limit=limit, lease_seconds=settings.ALERTS_LEASE_SECONDS
    )
    if not ids:
        return token, []
    return token, list(
        Alert.objects.filter(claim_token=token, status=Status.SENDING)
        .select_related("recipient")
        .order_by("id")
    )


def render_claimed(alerts: list[Alert]) -> list[Alert]:
    """Render the claimed rows stored as a snapshot (the checks render nothing), in the
    recipient's zone, in memory and outside any transaction; the mark of each sent row
    stores what it said (`_mark_sent`). Returns the rows that could not be rendered (sent
    back with the error)."""
    todo = [alert for alert in alerts if alert.needs_rendering]
    if not todo:
        return []
    zones = selectors.timezones_for({alert.recipient_id for alert in todo})
    broken = []
    for alert in todo:
        try:
            alert.render_from_facts(ZoneInfo(zones[alert.recipient_id]))
        except Exception as exc:  # noqa: BLE001 - one bad snapshot must not stop the batch
            log.exception("alert %s could not be rendered", alert.pk)
            alert.render_error = exc
            broken.append(alert)
        else:
            alert.rendered_here = True
    return broken


message_for = email_channel.message_for


# The per-email mark does not wait for the WAL flush (`synchronous_commit` off for its own
# transaction only): it is committed and seen by every other deliverer at once,
# and survives the deliverer's death; only a crash of PostgreSQL itself within
# ~3 × wal_writer_delay (0.6 s) can lose it, and then the row is re-sent after its lease
# with the same Message-ID. The flush was a third of an email's delivery time.
# Appended to the statement: one round trip, one implicit transaction, and the setting in
# force at its commit is what counts.
_ASYNC_COMMIT = "; SET LOCAL synchronous_commit TO OFF"

_MARK_SENT = (
    'UPDATE "alerts_alert" SET status = %s, sent_at = %s, lease_until = NULL, last_error = %s '
    "WHERE id = %s AND claim_token = %s AND status = %s"
)
_MARK_SENT_RENDERED = (
    'UPDATE "alerts_alert" SET status = %s, sent_at = %s, lease_until = NULL, last_error = %s, '
    "subject = %s, body_text = %s, body_html = %s "
    "WHERE id = %s AND claim_token = %s AND status = %s"
)


def _async_commit() -> str:
    """Only for the mark's own transaction: never changes how a caller's transaction commits."""
    return _ASYNC_COMMIT if db.vendor == "postgresql" and not db.in_atomic_block else ""


def _mark_sent(alert: Alert, token: str, *, now: datetime) -> None:
    """This row of this claim was accepted: one conditional UPDATE, written as SQL because
    it runs once per email (the ORM spent longer building it than the database running it),
    sent with the SET of its transaction in one round trip. A row rendered by this run
    stores what it said in the same UPDATE (one row version per email, not two)."""
    head = [Status.SENT, now, ""]
    tail = [alert.pk, token, Status.SENDING]
    if getattr(alert, "rendered_here", False):
        sql = _MARK_SENT_RENDERED
        head += [alert.subject, alert.body_text, alert.body_html]
    else:
        sql = _MARK_SENT
    with db.cursor() as cursor:
        cursor.execute(sql + _async_commit(), head + tail)


def _mark_failed(failures: list[tuple[Alert, Exception]], token: str, *, now: datetime):
    """Back to pending with backoff, or failed for good; one UPDATE per (attempts, error).
    Returns (retrying, given up)."""
    groups: dict[tuple[int, str], list[int]] = {}
    for alert, error in failures:
        message = f"{type(error).__name__}: {error}"[:2000]
        groups.setdefault((alert.attempts, message), []).append(alert.pk)
    retrying = failed = 0
    for (attempts, message), pks in groups.items():
        retry = attempts < settings.ALERTS_MAX_ATTEMPTS
        Alert.objects.filter(pk__in=pks, claim_token=token, status=Status.SENDING).update(
            status=Status.PENDING if retry else Status.FAILED,
            next_attempt_at=now + backoff(attempts),
            lease_until=None,
            last_error=message,
        )
        if retry:
            retrying += len(pks)
        else:
            failed += len(pks)
    return retrying, failed


def retry_now(alert_ids: list[int], *, now: datetime) -> int:
    """Put failed or pending alerts back in line for the next delivery run."""
    return Alert.objects.filter(
        pk__in=alert_ids, status__in=[Status.FAILED, Status.PENDING]
    ).update(status=Status.PENDING, next_attempt_at=now)


_Connection = email_channel.Connection


def deliver_batch(*, now: datetime, limit: int | None = None, connection=None) -> DeliveryResult:
    """Claim one batch, render it, send it over one connection and mark each sent; see the
    module docstring. `connection`: a `_Connection` shared by the batches of one run."""
    result = DeliveryResult()
    token, alerts = claim(now=now, limit=limit or settings.ALERTS_BATCH_SIZE)
    if not alerts:
        return result
    own = connection is None
    connection = connection or _Connection()
    failures = [(alert, alert.render_error) for alert in render_claimed(alerts)]
    broken = {alert.pk for alert, _ in failures}
    try:
        for index, alert in enumerate(alerts):
            if alert.pk in broken:
                continue
            try:
                email_channel.send(alert, connection)
            except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
                log.warning("alert %s to %s not sent: %s", alert.pk, alert.to_email, exc)
                could_connect = connection.is_open
                connection.reset()  # the next row opens a fresh connection
                if not could_connect:
                    # The server cannot be reached: the rest of the batch waits with this row.
                    rest = [a for a in alerts[index:] if a.pk not in broken]
                    failures.extend((a, exc) for a in rest)
                    break
                failures.append((alert, exc))
                continue
            _mark_sent(alert, token, now=now)
            result.sent += 1
    finally:
        retrying, failed = _mark_failed(failures, token, now=now)
        result.retrying += retrying
        result.failed += failed
        if own:
            connection.reset()
    return result


def _drain(
    *, now: datetime, limit: int | None, max_batches: int | None, deadline: float
) -> DeliveryResult:
    """Deliver batches over one connection until nothing is due at `now`, `max_batches`
    were claimed or the deadline passed."""
    total = DeliveryResult()
    connection = _Connection()
    try:
        batches = 0
        while max_batches is None or batches < max_batches:
            batch = deliver_batch(now=now, limit=limit, connection=connection)
            batches += 1
            total.sent += batch.sent
            total.retrying += batch.retrying
            total.failed += batch.failed
            if not (batch.sent or batch.retrying or batch.failed) or time.monotonic() > deadline:
                break
    finally:
        connection.reset()
    return total


def _helper(results: list[DeliveryResult], **kwargs) -> None:
    try:
        results.append(_drain(**kwargs))
    except Exception:  # noqa: BLE001 - its claimed rows come back when their lease expires
        log.exception("an alert deliverer stopped")
    finally:
        db.close()  # each thread has its own database connection


def deliver_pending(
    *,
    now: datetime,
    limit: int | None = None,
    max_batches: int | None = None,
    budget_seconds: float | None = None,
) -> DeliveryResult:
    """Drain the queue: deliver batches until nothing is due at `now`, `max_batches` were
    claimed, or `budget_seconds` (settings.ALERTS_DELIVERY_BUDGET_SECONDS) have passed;
    the batches of one deliverer share one connection to the email server.

    When the first batch comes back full (a backlog: a burst of breaches), up to
    settings.ALERTS_DELIVERERS - 1 more deliverers (threads, each with its own database and
    SMTP connection) drain it beside this one; the claims (SKIP LOCKED) keep them apart.
    They wait on the database and the mail server most of the time, so threads overlap."""
    budget = settings.ALERTS_DELIVERY_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    limit = limit or settings.ALERTS_BATCH_SIZE
    first = _drain(now=now, limit=limit, max_batches=1, deadline=deadline)
    results = [first]
    done = first.sent + first.retrying + first.failed
    if done < limit or max_batches == 1 or time.monotonic() > deadline:
        return first
    rest = None if max_batches is None else max_batches - 1
    kwargs = {"now": now, "limit": limit, "max_batches": rest, "deadline": deadline}
    helpers = []
    if db.vendor == "postgresql" and not db.in_atomic_block:
        for _ in range(settings.ALERTS_DELIVERERS - 1):
            helper = threading.Thread(target=_helper, args=(results,), kwargs=kwargs)
            helper.start()
            helpers.append(helper)
    results.append(_drain(**kwargs))
    for helper in helpers:
        helper.join()
    total = DeliveryResult()
    for result in results:
        total.sent += result.sent
        total.retrying += result.retrying
        total.failed += result.failed
    return total
