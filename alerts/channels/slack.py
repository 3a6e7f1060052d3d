"""The Slack channel: an incoming webhook (a URL made for one channel) or a bot token and a
channel id (`chat.postMessage` through the official `slack-sdk`).

Incoming webhooks answer 200 with the body ``ok``; a refusal names its reason in the body
(400 ``invalid_payload``, 403 ``action_prohibited``, 404 ``no_service`` /
``channel_not_found``, 410 ``channel_is_archived``) and is permanent; 429 carries
``Retry-After``; 5xx is retried. `chat.postMessage` answers ``{"ok": true, …}`` or
``{"ok": false, "error": "channel_not_found"}``: the errors below that a later try may
clear are retried, every other one is permanent.
"""

from __future__ import annotations

import json

from django.conf import settings

from alerts.channels import ChatMessage, Destination, Outcome, http_outcome, retry_after
from integrations import egress

NAME = "slack"
LABEL = "Slack"

# chat.postMessage errors worth another try; any other error will not go away by itself.
RETRYABLE_API_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


def payload(message: ChatMessage) -> dict:
    """`text` is the notification and fallback; the blocks show it in the channel."""
    title = message.title
    text = f"*{title}*\n{message.text}".strip()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
    if message.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in SLA Hub"},
                        "url": message.link,
                    }
                ],
            }
        )
    return {"text": title[:300], "blocks": blocks}


def send(destination: Destination, message: ChatMessage) -> Outcome:
    if destination.bot_token:
        return _post_message(destination, message)
    if not destination.webhook_url:
        return Outcome(False, "No Slack webhook URL or bot token is set.", permanent=True)
    body = json.dumps(payload(message)).encode()
    answer = egress.exchange(
        destination.webhook_url, body, {"Content-Type": "application/json; charset=utf-8"}
    )
    return http_outcome(answer.code, answer.text, answer.headers, answer.error)


def _post_message(destination: Destination, message: ChatMessage) -> Outcome:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    # The API base is a setting, never user input: the token only ever goes to Slack.
    client = WebClient(
        token=destination.bot_token,
        base_url=settings.SLACK_API_BASE_URL,
        timeout=getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10),
        retry_handlers=[],  # the outbox retries, with its backoff and its record
    )
    try:
        client.chat_postMessage(channel=destination.channel, **payload(message))
    except SlackApiError as exc:
        response = exc.response
        error = str(response.get("error") or f"HTTP {response.status_code}")
        detail = f"chat.postMessage: {error}"
        if response.status_code == 429 or error in RETRYABLE_API_ERRORS:
            wait = retry_after({k.lower(): v for k, v in (response.headers or {}).items()})
            return Outcome(False, detail, response.status_code, retry_after=wait)
        return Outcome(False, detail, response.status_code, permanent=True)
    except (OSError, ValueError) as exc:  # network trouble (urllib) or an unreadable answer
        return Outcome(False, f"Slack could not be reached ({type(exc).__name__}).")
    return Outcome(True, code=200)
