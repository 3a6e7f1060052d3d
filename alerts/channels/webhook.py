"""The signed-webhook channel: one delivery POSTed to a subscription's URL through the
outbound rules of `integrations.egress` (public addresses only, no redirects)."""

from __future__ import annotations

from alerts.channels import Outcome
from integrations import egress

NAME = "webhook"
LABEL = "Signed webhook"


def send(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """2xx is delivered; anything else is retried by `integrations.deliveries` (a receiver
    may be down for hours: every failure of a webhook is worth another try)."""
    answer = egress.exchange(url, body, headers)
    if answer.code is None:
        return Outcome(False, answer.error)
    if 200 <= answer.code < 300:
        return Outcome(True, code=answer.code)
    if 300 <= answer.code < 400:
        return Outcome(False, f"HTTP {answer.code} (redirects are not followed)", answer.code)
    return Outcome(False, f"HTTP {answer.code}", answer.code)
