"""Alerts: who wants what (preferences, channels, digest time), the teams' chat channels,
and the outboxes of alerts to send.

Every email alert is one `Alert` row and every Slack or Teams alert one `ChannelDelivery`
row, written in the transaction of the check that detected its event, unique per event,
recipient and channel; the deliverers claim due rows (`alerts.outbox`), send them and mark
them sent.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.query_utils import DeferredAttribute

from agreements.models import validate_timezone
from integrations.egress import url_validator


class Event(models.TextChoices):
    """The kinds of alert a user may receive."""

    WARNING = "warning", "Deadline coming up (warning)"
    BREACH = "breach", "Promise breached"
    QUOTA_AT_RISK = "quota_at_risk", "Quota at risk"
    QUOTA_MISSED = "quota_missed", "Quota missed"
    ESCALATION = "escalation", "Breach left unacknowledged (escalation)"
    DIGEST = "digest", "Daily digest"
    PROPOSAL = "proposal", "Agreement proposals awaiting your signature"
    REVIEW = "review", "The record of a joint review"


class Channel(models.TextChoices):
    """Where an alert may go (`alerts.channels`): a user picks per event, a team picks one
    chat channel for its breaches and warnings."""

    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


CHAT_CHANNELS = (Channel.SLACK.value, Channel.TEAMS.value)
# Events a team channel may carry.
TEAM_EVENTS = ("breach", "warning")
# Events a user may take in Slack or Teams: those queued as a snapshot (`facts`) that the
# chat deliverer renders. A proposal's email is rendered when queued: email only.
CHAT_EVENTS = ("warning", "breach", "quota_at_risk", "quota_missed", "escalation")


def default_channels() -> list[str]:
    return [Channel.EMAIL.value]


def default_team_events() -> list[str]:
    return list(TEAM_EVENTS)


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DIGEST = "digest", "In the daily digest only"
    OFF = "off", "Off"


class NotificationPreference(models.Model):
    """How one user wants one kind of alert. No row: the default of `alerts.selectors`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    mode = models.CharField(max_length=10, choices=Mode.choices)
    # Where an immediate alert goes (values of `Channel`); the digest is always email.
    channels = models.JSONField(default=default_channels, blank=True)

    class Meta:
        ordering = ["user", "event"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notificationpref_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.event} → {self.mode}"


class NotificationSettings(models.Model):
    """A user's time zone for emails and the local hour of the daily digest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="Empty: the time zone of the user's team, else UTC.",
    )
    digest_hour = models.PositiveSmallIntegerField(
        default=8, validators=[MaxValueValidator(23)], help_text="Local hour of the digest."
    )
    # The user's own chat destinations (secrets: shown back masked, `alerts.selectors`).
    slack_webhook_url = models.URLField(max_length=500, blank=True, validators=[url_validator])
    teams_webhook_url = models.URLField(max_length=500, blank=True, validators=[url_validator])

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"{self.user}: digest at {self.digest_hour:02d}:00 {self.timezone or '(team)'}"


class _RenderedOnRead(DeferredAttribute):
    """Reading `subject` / `body_text` / `body_html` of a stored alert whose email is not
    rendered yet (the checks store a snapshot, `facts`) renders it from the snapshot, for the
    recipient, in memory: the admin and the digest read what the email says. The deliverer
    renders and stores it before sending (`alerts.delivery`)."""

    def __get__(self, instance, cls=None):
        value = super().__get__(instance, cls)
        if instance is None or value or not instance.__dict__.get("_render_on_read"):
            return value
        instance.render_from_facts()
        return instance.__dict__[self.field.attname]

    def __set__(self, instance, value):  # a data descriptor, so that __get__ always runs
        instance.__dict__[self.field.attname] = value


class RenderedCharField(models.CharField):
    descriptor_class = _RenderedOnRead


class RenderedTextField(models.TextField):
    descriptor_class = _RenderedOnRead


class Alert(models.Model):
    """One email to one recipient about one event: the outbox row.

    `key` names the event (e.g. ``breach:42``, ``digest:2026-11-25``); (key, recipient) is
    unique, so detecting the same event twice cannot queue a second email.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending (claimed by a deliverer)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"
        HELD = "held", "Held for the digest"
        DIGESTED = "digested", "Sent in a digest"
        SKIPPED = "skipped", "Nothing to send"

    event = models.CharField(max_length=20, choices=Event.choices)
    key = models.CharField(max_length=100)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    to_email = models.EmailField()
    subject = RenderedCharField(max_length=255, blank=True)
    body_text = RenderedTextField(blank=True)
    body_html = RenderedTextField(blank=True)
    # What the email states, as found by the check (alerts.content.clock_facts); rendered
    # into subject/body_text/body_html at delivery. Empty for alerts rendered when queued.
    facts = models.JSONField(default=dict, blank=True)
    breach = models.ForeignKey(
        "leads.Breach", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    obligation = models.ForeignKey(
        "leads.Obligation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    digest = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="included"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "recipient"], name="alert_unique_event_recipient"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="alert_pending_due",
            ),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="alert_sending_lease"
            ),
            models.Index(fields=["recipient", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email} ({self.status})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance.__dict__["_render_on_read"] = True
        return instance

    @property
    def needs_rendering(self) -> bool:
        """A snapshot not rendered yet (read without triggering the rendering)."""
        return bool(self.__dict__.get("facts")) and not self.__dict__.get("body_text")

    def render_from_facts(self, tz=None) -> bool:
        """Render the email from `facts` for the recipient into the three fields (in memory);
        returns whether it did. `tz`: the recipient's zone if known (else looked up)."""
        if not self.needs_rendering:
            return False
        from zoneinfo import ZoneInfo

        from alerts import content, selectors

        if tz is None:
            tz = ZoneInfo(selectors.timezones_for([self.recipient_id])[self.recipient_id])
        rendered = content.render_facts(self.event, self.facts, self.recipient, tz)
        self.__dict__.update(
            subject=rendered.subject, body_text=rendered.text, body_html=rendered.html
        )
        return True

    @property
    def message_id(self) -> str:
        """A stable Message-ID: a re-sent copy (see docs/alerts.md) is recognisably the same."""
        return f"<alert-{self.pk}@slahub>"


class TeamChannel(models.Model):
    """The chat channel a team's breaches and warnings are posted to: a Slack incoming
    webhook, a Slack bot token with a channel id, or a Teams incoming webhook. Set by the
    team's managers or staff (`alerts.services.team_channel_set`, audited)."""

    team = models.OneToOneField(
        "agreements.Team", on_delete=models.CASCADE, related_name="chat_channel"
    )
    channel = models.CharField(
        max_length=10, choices=[c for c in Channel.choices if c[0] != "email"]
    )
    webhook_url = models.URLField(max_length=500, blank=True, validators=[url_validator])
    # Encrypted at rest like the CRM credentials (connectors/crypto.py); read and set
    # through `bot_token`.
    sealed_bot_token = models.TextField(blank=True)
    slack_channel = models.CharField(
        max_length=80, blank=True, help_text="With a bot token: the channel id, e.g. C0123456789."
    )
    events = models.JSONField(default=default_team_events, blank=True)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.team}: {self.get_channel_display()}"

    @property
    def bot_token(self) -> str:
        from connectors import crypto

        return crypto.unseal(self.sealed_bot_token).get("token", "")

    @bot_token.setter
    def bot_token(self, value: str) -> None:
        from connectors import crypto

        self.sealed_bot_token = crypto.seal({"token": value}) if value else ""


class ChannelDelivery(models.Model):
    """One alert to one chat destination — a user's own Slack or Teams, or a team's
    channel: the chat outbox row, claimed and leased like the email outbox
    (`alerts.outbox`, `alerts.chat_delivery`). Unique per (event key, channel, user) and
    (event key, channel, team channel): an event is posted once per destination."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending (claimed by a deliverer)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up or refused)"

    event = models.CharField(max_length=20, choices=Event.choices)
    key = models.CharField(max_length=100)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="channel_deliveries",
    )
    team_channel = models.ForeignKey(
        TeamChannel, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    facts = models.JSONField(default=dict, blank=True)
    breach = models.ForeignKey(
        "leads.Breach", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "channel deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["key", "channel", "recipient"],
                condition=Q(recipient__isnull=False),
                name="channeldelivery_unique_user",
            ),
            models.UniqueConstraint(
                fields=["key", "channel", "team_channel"],
                condition=Q(team_channel__isnull=False),
                name="channeldelivery_unique_team",
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=True) ^ Q(team_channel__isnull=True),
                name="channeldelivery_one_destination",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="channeldelivery_pending_due",
            ),
            models.Index(
                fields=["lease_until"],
                condition=Q(status="sending"),
                name="channeldelivery_lease",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.channel} ({self.status})"
