"""CRM connectors (HubSpot, Salesforce): their settings, sealed credentials, the stored
cursor of the incremental pull, and a log row per sync run with what it skipped and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from agreements.models import Side


class Connector(models.Model):
    class Kind(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot"
        SALESFORCE = "salesforce", "Salesforce"

    kind = models.CharField(max_length=12, choices=Kind.choices, unique=True)
    sales_team = models.ForeignKey(
        "agreements.Team",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"side": Side.SALES},
    )
    marketing_team = models.ForeignKey(
        "agreements.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"side": Side.MARKETING},
    )
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The integration user the connector's changes are recorded as.",
    )
    # stage_map (CRM stage → SLA Hub stage), writeback (SLA field → CRM property),
    # instance_url / api_base (where the API is), auth (Salesforce: refresh or jwt).
    settings = models.JSONField(default=dict, blank=True)
    credentials = models.TextField(blank=True, help_text="Sealed with connectors.crypto.")
    # Where the next pull starts: {object: {"since": …, "after": …}, "phase": …}.
    cursor = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    # A run holds the connector until `lease_until` (see connectors.sync).
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    written_back = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.connector} sync {self.pk} ({self.status})"


class SyncSkip(models.Model):
    """A CRM record a run did not apply, with the reason shown in the sync log."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="skips")
    object_type = models.CharField(max_length=30)
    external_id = models.CharField(max_length=100)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.object_type} {self.external_id}: {self.reason}"


class Deal(models.Model):
    """A CRM deal or opportunity of a lead: its stage and amount (the won amount of the
    closed-loop funnel)."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="deals")
    external_id = models.CharField(max_length=100)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="crm_deals")
    name = models.CharField(max_length=200, blank=True)
    crm_stage = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "external_id"], name="deal_unique_connector_external_id"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.external_id


class WrittenState(models.Model):
    """The SLA state last written into the CRM for a lead, so only changes are sent."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    values = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connector", "lead"], name="writtenstate_unique_lead")
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.values}"
