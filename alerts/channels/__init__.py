"""Channel transports: how one message reaches one destination. Each channel is one module
with a `send()`; `TRANSPORTS` is the one registry of the chat channels a preference or a
team may choose (email and signed webhooks have their own outboxes, `alerts.delivery` and
`integrations.deliveries`, and their modules here: `email`, `webhook`).

A chat transport's `send(destination, message)` returns an `Outcome` and never raises for
the service's answers: sent, to retry (network trouble, 5xx, 429 with the wait the service
asked for), or permanent (the service said the request can never succeed — a deleted or
archived channel, a revoked token): recorded and shown, not retried.

Adding a channel: a module with NAME, LABEL and `send()`, one line in TRANSPORTS, one
value in `alerts.models.Channel`, and its tests against a fake of the service on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class ChatMessage:
    """What a chat channel posts: a title line, the body and a link to open in SLA Hub."""

    title: str
    text: str
    link: str = ""


@dataclass(frozen=True)
class Destination:
    """Where a chat message goes: an incoming-webhook URL, or (Slack) a bot token and a
    channel id. Read from the team's or user's settings at send time, never copied into the
    outbox row."""

    webhook_url: str = ""
    bot_token: str = ""
    channel: str = ""


@dataclass(frozen=True)
class Outcome:
    sent: bool
    error: str = ""
    code: int | None = None
    permanent: bool = False
    retry_after: int | None = None  # seconds the service asked us to wait (429 Retry-After)


def retry_after(headers: dict[str, str]) -> int | None:
    value = headers.get("retry-after", "")
    return int(value) if value.strip().isdigit() else None


def http_outcome(code: int | None, text: str, headers: dict[str, str], error: str) -> Outcome:
    """The common reading of an HTTP answer: 2xx sent; no answer, 408, 429 or 5xx retried;
    any other 4xx (or 3xx: redirects are not followed) permanent."""
    if code is None:
        return Outcome(False, error or "The service could not be reached.")
    detail = f"HTTP {code}" + (f": {text.strip()[:300]}" if text.strip() else "")
    if 200 <= code < 300:
        return Outcome(True, code=code)
    if code == 429:
        return Outcome(False, detail, code, retry_after=retry_after(headers))
    if code == 408 or code >= 500:
        return Outcome(False, detail, code)
    return Outcome(False, detail, code, permanent=True)


def transports() -> dict[str, ModuleType]:
    from alerts.channels import slack, teams

    return {slack.NAME: slack, teams.NAME: teams}


def transport(name: str) -> ModuleType:
    return transports()[name]
