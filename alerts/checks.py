"""The alert checks, run once in order (beat runs each on its own schedule; `run_checks`
runs them all): escalation of unacknowledged breaches, digests due, delivery (email, then chat)."""

from __future__ import annotations

from datetime import datetime

from alerts import chat_delivery, delivery, services


def run_all(now: datetime) -> list[str]:
    """Escalate, queue due digests, deliver the outbox; one summary line each."""
    escalated = services.escalate_breaches(now=now)
    return [
        f"escalation: {escalated} breaches escalated",
        str(services.send_digests(now=now)),
        str(delivery.deliver_pending(now=now)),
        str(chat_delivery.deliver_pending(now=now)),
    ]
