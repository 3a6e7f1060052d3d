"""The email channel: one alert as one message over a connection of Django's email backend
(SMTP in production), kept open across the messages of a delivery run."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

log = logging.getLogger("slahub.alerts")

NAME = "email"
LABEL = "Email"


def message_for(alert, connection=None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=alert.subject,
        body=alert.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[alert.to_email],
        headers={"Message-ID": alert.message_id, "X-SLAHub-Alert": alert.key},
        connection=connection,
    )
    if alert.body_html:
        message.attach_alternative(alert.body_html, "text/html")
    return message


def _close_quietly(backend) -> None:
    try:
        backend.close()
    except Exception:  # noqa: BLE001 - a broken connection is reopened by the next send
        log.debug("closing the email connection failed", exc_info=True)


class Connection:
    """One email backend connection, opened on first use and kept open across messages
    and batches (`send_messages` on an open connection does not close it)."""

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False)
        self.is_open = False

    def send(self, message: EmailMultiAlternatives) -> None:
        if not self.is_open:
            self.backend.open()
            self.is_open = True
        message.connection = self.backend
        self.backend.send_messages([message])

    def reset(self) -> None:
        if self.is_open:
            _close_quietly(self.backend)
        self.is_open = False


def send(alert, connection: Connection) -> None:
    """Send one alert; raises when the server refused it or could not be reached (the
    deliverer retries it with backoff, `alerts.delivery`)."""
    connection.send(message_for(alert))
