"""What other tools use to talk to SLA Hub: API tokens, signed webhooks in and out, and
CSV imports with their per-row report."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from integrations import egress


def new_secret() -> str:
    """A fresh signing secret for a webhook source or subscription."""
    return "whsec_" + secrets.token_urlsafe(24)


class ApiToken(models.Model):
    """A per-user API key. Only a SHA-256 hash of the key is stored; the key itself is shown
    once, when the token is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The key's first characters, for display.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookSource(models.Model):
    """A configured sender of inbound lead and activity events (a CRM, an automation tool).

    Each has its own endpoint /api/v1/inbound/<slug>/ and shared secret."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    secret = models.CharField(
        max_length=128, default=new_secret, help_text="Shared with the sender, who signs with it."
    )
    source_system = models.CharField(
        max_length=50, help_text="Leads and activities from here are keyed by this system name."
    )
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The user recorded as making the changes (optional).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InboundEvent(models.Model):
    """An accepted inbound webhook request, remembered so that a replay is not applied twice."""

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="events")
    signature = models.CharField(max_length=64)
    event_id = models.CharField(max_length=100, blank=True)
    event_type = models.CharField(max_length=50, blank=True)
    received_at = models.DateTimeField()
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "signature"], name="inboundevent_unique_signature"
            ),
            models.UniqueConstraint(
                fields=["source", "event_id"],
                condition=~Q(event_id=""),
                name="inboundevent_unique_event_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.event_type} {self.event_id}".strip()


class WebhookEvent(models.TextChoices):
    BREACH_CREATED = "breach.created", "Breach created"
    BREACH_RESOLVED = "breach.resolved", "Breach resolved"
    OBLIGATION_WARNING = "obligation.warning", "Obligation warning"
    QUOTA_AT_RISK = "quota.at_risk", "Quota at risk"
    LEAD_HANDED_OFF = "lead.handed_off", "Lead handed off"


class WebhookSubscription(models.Model):
    """A receiver of outbound events. It gets the events of the teams its owner can see."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    name = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, validators=[egress.url_validator])
    events = models.JSONField(default=list, help_text="Event names this receiver wants.")
    secret = models.CharField(max_length=128)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.url


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription, with its attempts' outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=30, choices=WebhookEvent.choices)
    event_id = models.UUIDField(default=uuid.uuid4)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Set while one attempt is sending (status `sending`); see integrations/deliveries.py.
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhookdelivery_pending_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription} ({self.status})"


class Import(models.Model):
    """A CSV file of leads, mapped to lead fields and upserted row by row by a Celery task."""

    class Preset(models.TextChoices):
        SALESFORCE = "salesforce", "Salesforce Lead export"
        HUBSPOT = "hubspot", "HubSpot contacts export"
        CUSTOM = "custom", "Custom mapping"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="imports"
    )
    filename = models.CharField(max_length=200, blank=True)
    content = models.TextField(help_text="The uploaded CSV, decoded as UTF-8.")
    preset = models.CharField(max_length=12, choices=Preset.choices)
    mapping = models.JSONField(default=dict, help_text="Lead field → CSV column(s).")
    source_system = models.CharField(max_length=50)
    sales_team = models.ForeignKey(
        "agreements.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    marketing_team = models.ForeignKey(
        "agreements.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    backfill_reason = models.CharField(
        max_length=300,
        blank=True,
        help_text="Staff only: why rows older than the backfill window may be imported.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    # A chunk run holds the import until `lease_until` (see services.import_run_chunk);
    # `processed_rows` is where the next chunk starts.
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.filename or self.preset}, {self.status})"


class ImportRow(models.Model):
    """What happened to one data row of an import (row numbers count the header as 1)."""

    class Result(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        ERROR = "error", "Error"

    import_run = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()
    result = models.CharField(max_length=10, choices=Result.choices)
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    external_id = models.CharField(max_length=100, blank=True)
    errors = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["import_run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["import_run", "number"], name="importrow_unique_number")
        ]

    def __str__(self) -> str:
        return f"Row {self.number}: {self.result}"
