"""The Microsoft Teams channel: an incoming webhook (a Workflows "post to a channel when a
webhook request is received" URL, or a legacy connector URL) sent an Adaptive Card.

Answers: 200 (legacy connectors, body ``1``) or 202 (Workflows) accepted; 400 a payload
Teams cannot read, 404 a webhook that no longer exists, 413 too large — permanent; 429
throttled (Retry-After when given) and 5xx retried. A legacy connector may also answer 200
with a body reporting a throttled request ("…returned HTTP error 429"): retried too.
"""

from __future__ import annotations

import json

from alerts.channels import ChatMessage, Destination, Outcome, http_outcome
from integrations import egress

NAME = "teams"
LABEL = "Microsoft Teams"


def payload(message: ChatMessage) -> dict:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": message.title, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": message.text, "wrap": True},
        ],
    }
    if message.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in SLA Hub", "url": message.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def send(destination: Destination, message: ChatMessage) -> Outcome:
    if not destination.webhook_url:
        return Outcome(False, "No Teams webhook URL is set.", permanent=True)
    body = json.dumps(payload(message)).encode()
    answer = egress.exchange(destination.webhook_url, body, {"Content-Type": "application/json"})
    if answer.code is not None and 200 <= answer.code < 300 and "error 429" in answer.text:
        return Outcome(False, f"HTTP {answer.code}: {answer.text.strip()[:300]}", answer.code)
    return http_outcome(answer.code, answer.text, answer.headers, answer.error)
