"""Leads, their stage history and touches, and the clocks (obligations) that run on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from agreements.models import AgreementVersion, Commitment, Side, Team
from slahub.limits import TEXT_MAX, text_validators


class Stage(models.TextChoices):
    NEW = "new", "New"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    REJECTED = "rejected", "Rejected"
    RECYCLED = "recycled", "Recycled"


# Funnel order: reaching a later stage implies having passed the earlier ones.
FUNNEL = ["mql", "sal", "sql", "opportunity", "won"]
CONVERTED_STAGES = ("sql", "opportunity", "won")
CLOSED_STAGES = ("won", "lost", "rejected", "recycled")


# Fields a caller may set directly; stage, owner, team and hand-off go through services.
LEAD_DATA_FIELDS = [
    "name",
    "email",
    "company",
    "title",
    "phone",
    "country",
    "tier",
    "score",
    "lead_source",
    "campaign",
]


def stages_at_or_beyond(stage: str) -> list[str]:
    return FUNNEL[FUNNEL.index(stage) :]


class Lead(models.Model):
    source_system = models.CharField(max_length=50, default="manual")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO country code.")
    tier = models.CharField(max_length=20, blank=True)
    score = models.IntegerField(default=0)
    lead_source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_leads",
    )
    sales_team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales_leads",
        limit_choices_to={"side": Side.SALES},
    )
    marketing_team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="marketing_leads",
        limit_choices_to={"side": Side.MARKETING},
    )
    handed_off_at = models.DateTimeField(null=True, blank=True)
    agreement_version = models.ForeignKey(
        AgreementVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        help_text="The terms the lead's clocks started under at its last hand-off.",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-handed_off_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"], name="lead_unique_source_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["sales_team", "stage"]),
            models.Index(fields=["owner", "stage"]),
            models.Index(fields=["handed_off_at"]),
            models.Index(fields=["campaign"]),
            models.Index(fields=["lead_source"]),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.company}" if self.company else self.name

    def match_fields(self) -> dict:
        """The fields a commitment's `applies_to` filter may test."""
        return {
            "tier": self.tier,
            "lead_source": self.lead_source,
            "country": self.country,
            "campaign": self.campaign,
            "score": self.score,
        }


class StageEvent(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="stage_events")
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    occurred_at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["to_stage", "occurred_at"]),
            # A range's dispositions (to SAL, to rejected, or returning a contested
            # rejection: an OR the index above cannot serve), e.g. today's on every report.
            models.Index(fields=["occurred_at"], name="stageevent_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.lead}: {self.from_stage or '—'} → {self.to_stage}"


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        SMS = "sms", "SMS"
        SOCIAL = "social", "Social"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        ATTEMPTED = "attempted", "Attempted"
        CONNECTED = "connected", "Connected"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.ATTEMPTED)
    occurred_at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
    )
    source_system = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=~Q(external_id=""),
                name="activity_unique_source_external_id",
            )
        ]
        indexes = [models.Index(fields=["lead", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.outcome}) on {self.lead}"


class Obligation(models.Model):
    """One running clock: a lead-scoped promise (a touch, an attempt, a disposition) or a
    period-scoped one (a quota for a week/month/quarter). Keeps the version it started under."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MET = "met", "Met"
        BREACHED = "breached", "Breached"
        WAIVED = "waived", "Waived"  # breached, then waived by the other side: not counted
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=15, choices=Commitment.Kind.choices)
    side = models.CharField(max_length=10, choices=Side.choices)
    commitment = models.ForeignKey(Commitment, on_delete=models.PROTECT, related_name="obligations")
    agreement_version = models.ForeignKey(
        AgreementVersion, on_delete=models.PROTECT, related_name="obligations"
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="obligations"
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    period_start = models.DateTimeField(null=True, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="obligations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligations",
    )
    starts_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by = models.ForeignKey(
        Activity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    warned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When what the clock asks for was done or stopped being owed (met, touched "
        "or decided late, the lead closed); empty while the owner still owes it.",
    )
    done_by = models.ForeignKey(
        Activity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The touch that met it, did it late or stopped it (connected).",
    )
    target = models.PositiveIntegerField(null=True, blank=True)
    actual = models.PositiveIntegerField(null=True, blank=True)
    sample = models.PositiveIntegerField(null=True, blank=True)
    at_risk_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind", "attempt"],
                condition=Q(status="open", lead__isnull=False),
                name="obligation_one_open_per_lead_kind_attempt",
            ),
            models.UniqueConstraint(
                fields=["commitment", "period_start"],
                condition=Q(lead__isnull=True),
                name="obligation_one_per_commitment_period",
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="open"), name="obligation_open_due"),
            models.Index(
                fields=["warn_at"],
                condition=Q(status="open", warned_at__isnull=True),
                name="obligation_open_unwarned",
            ),
            models.Index(fields=["user", "status", "due_at"]),
            models.Index(fields=["team", "kind", "due_at"]),
            models.Index(
                fields=["lead", "due_at"],
                condition=Q(done_at__isnull=True, status__in=["open", "breached", "waived"]),
                name="obligation_owed",
            ),
        ]

    # Still owed by the lead's owner until `done_at` (a missed clock is owed until done).
    OWED = (Status.OPEN, Status.BREACHED, Status.WAIVED)

    def __str__(self) -> str:
        subject = self.lead or (self.period_start and f"period from {self.period_start:%Y-%m-%d}")
        suffix = f" #{self.attempt}" if self.kind == Commitment.Kind.FOLLOW_UP else ""
        return f"{self.get_kind_display()}{suffix} — {subject} ({self.status})"


class ActivityUndo(models.Model):
    """The audit of an undone touch: what it was, who logged it, who undid it and when."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="undone_activities")
    activity_id = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=Activity.Kind.choices)
    outcome = models.CharField(max_length=10, choices=Activity.Outcome.choices)
    occurred_at = models.DateTimeField()
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    logged_at = models.DateTimeField()
    note = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    source_system = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    undone_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-undone_at", "-id"]

    def __str__(self) -> str:
        return f"Undone {self.get_kind_display()} on {self.lead} ({self.occurred_at:%Y-%m-%d})"


class Breach(models.Model):
    """An obligation that passed its due time unmet, or a period that missed its target."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        DISPUTED = "disputed", "Disputed"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        UPHELD = "upheld", "Upheld"
        WAIVED = "waived", "Waived"

    # One breach per obligation, whatever races: the database is the last guard.
    obligation = models.OneToOneField(Obligation, on_delete=models.PROTECT, related_name="breach")
    kind = models.CharField(max_length=15, choices=Commitment.Kind.choices)
    side = models.CharField(max_length=10, choices=Side.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="breaches")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="breaches",
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="breaches"
    )
    due_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledge_note = models.TextField(
        blank=True, max_length=TEXT_MAX, validators=text_validators()
    )
    disputed_at = models.DateTimeField(null=True, blank=True)
    disputed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dispute_reason = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(
        blank=True, max_length=TEXT_MAX, validators=text_validators()
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name_plural = "breaches"
        indexes = [
            models.Index(fields=["team", "status", "due_at"]),
            models.Index(fields=["side", "due_at"]),
            models.Index(fields=["user", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} breach — {self.lead or self.team} ({self.status})"


class BreachComment(models.Model):
    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=TEXT_MAX, validators=text_validators())
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.breach_id}"


class Backfill(models.Model):
    """A time recorded further back than the backfill window, on staff's word: who, when,
    which event time, and why (leads.bounds)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="backfills")
    field = models.CharField(max_length=30, help_text="The time given: at, occurred_at, …")
    occurred_at = models.DateTimeField(help_text="The time recorded for the event.")
    recorded_at = models.DateTimeField(help_text="When it was recorded.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"Backfill of {self.field} on lead {self.lead_id} ({self.occurred_at:%Y-%m-%d})"


class RejectionContest(models.Model):
    """Marketing's manager contests a sales rejection; a manager of the lead's sales team
    upholds it or returns the lead to its rep (see docs/metrics.md for the figures)."""

    class Decision(models.TextChoices):
        UPHELD = "upheld", "Rejection upheld"
        RETURNED = "returned", "Returned to the rep"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="contests")
    # One contest per rejection: a lead rejected again after a return may be contested again.
    rejection = models.OneToOneField(StageEvent, on_delete=models.CASCADE, related_name="contest")
    contested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    contested_at = models.DateTimeField()
    reason = models.TextField(max_length=TEXT_MAX, validators=text_validators())
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    # The stage event of a return (rejected → MQL): the acceptance figures take the
    # rejection back on its day.
    return_event = models.OneToOneField(
        StageEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contest_return",
    )

    class Meta:
        ordering = ["-contested_at", "-id"]
        indexes = [
            models.Index(
                fields=["contested_at"], condition=Q(decision=""), name="contest_undecided"
            )
        ]

    def __str__(self) -> str:
        return f"Contest of the rejection of {self.lead} ({self.decision or 'open'})"

    @property
    def is_open(self) -> bool:
        return not self.decision
