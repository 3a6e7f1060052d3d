"""Enqueueing Celery tasks without letting a broker outage lose work or fail a request.

The rule: the work is recorded in the database first (a webhook delivery, an import, an
alert row); the Celery message is only a nudge to do it now. So the message is sent after
the transaction commits, and a broker that is down (Redis stopped, refused, timing out) is
logged and swallowed: the caller's answer does not change, and a sweeper (a beat task and
`run_checks`) picks up the recorded work that no message announced.
"""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger("slahub.queueing")

# Publishing gives up quickly: the sweeper, not the request, is the safety net.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task, *args) -> bool:
    """Send `task(*args)` to the broker now; False (logged) when the broker refused it."""
    try:
        task.apply_async(args=args, retry=True, retry_policy=RETRY_POLICY)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the sweeper re-sends the work
        log.warning(
            "broker unavailable (%s: %s): %s%r not enqueued; the sweeper will send it",
            type(exc).__name__,
            exc,
            task.name,
            args,
        )
        return False
    return True


def enqueue_after_commit(task, *args) -> None:
    """Enqueue `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))


def enqueue_many_after_commit(task, arg_list: list) -> None:
    """One message per item of `arg_list` (each a tuple of arguments), after commit; stops
    at the first broker failure (the rest would fail the same way, slowly)."""
    items = [tuple(a) for a in arg_list]

    def send() -> None:
        for args in items:
            if not enqueue(task, *args):
                return

    transaction.on_commit(send)
