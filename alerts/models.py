"""Email alerts: who wants what (preferences, digest time) and the outbox of alerts to send.

Every alert is one `Alert` row, written in the transaction of the check that detected its
event, unique per event and recipient; the deliverer sends pending rows and marks them sent.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.query_utils import DeferredAttribute

from agreements.models import validate_timezone


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
