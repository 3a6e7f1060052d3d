"""Teams, business calendars, versioned agreements and their commitments."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from agreements import kinds
from slahub.limits import TEXT_MAX, text_validators


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone.")


def validate_iso_duration(value: str) -> None:
    from agreements.businesstime import ClockDuration

    try:
        ClockDuration.parse(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class Side(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"


class BusinessCalendar(models.Model):
    """Weekly working hours in a time zone, minus holidays (a country's and custom dates)."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text="ISO country code for public holidays, e.g. DE, US."
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="Optional region, e.g. BY or NY."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.holiday_country:
            if self.holiday_subdivision:
                raise ValidationError({"holiday_subdivision": "Choose a country first."})
            return
        supported = holidays.list_supported_countries()
        country = self.holiday_country.upper()
        if country not in supported:
            raise ValidationError({"holiday_country": f"No public holidays known for {country!r}."})
        if self.holiday_subdivision and self.holiday_subdivision not in supported[country]:
            raise ValidationError(
                {"holiday_subdivision": f"{country} has no region {self.holiday_subdivision!r}."}
            )
        self.holiday_country = country


class WorkingHours(models.Model):
    """One working interval on a weekday; an end at or before the start runs overnight."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name_plural = "working hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start == self.end:
            raise ValidationError({"end": "An interval must not start and end at the same time."})


class Holiday(models.Model):
    """A custom non-working date, on top of the country's public holidays."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="custom_holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_per_calendar")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    side = models.CharField(max_length=10, choices=Side.choices)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, null=True, blank=True, related_name="teams"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="sla_teams"
    )

    class Meta:
        ordering = ["side", "name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        MANAGER = "manager", "Manager"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["team", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}, {self.team})"


class Agreement(models.Model):
    """The standing agreement between one marketing team and one sales team."""

    name = models.CharField(max_length=150)
    marketing_team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="marketing_agreements",
        limit_choices_to={"side": Side.MARKETING},
    )
    sales_team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="sales_agreements",
        limit_choices_to={"side": Side.SALES},
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        related_name="agreements",
        help_text="Calendar of business clocks and of quota periods.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["marketing_team", "sales_team"], name="agreement_unique_team_pair"
            )
        ]

    def __str__(self) -> str:
        return self.name


class AgreementVersion(models.Model):
    """One version of the terms. Signed only once a manager of each side signed it; in force
    from `effective_at` (the second signature, a chosen later date, or a backfilled earlier
    date) until `ended_at` (the next version's effective date, or retirement)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PROPOSED = "proposed", "Proposed"
        SCHEDULED = "scheduled", "Scheduled"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"
        RETIRED = "retired", "Retired"

    SIGNED_STATUSES = (Status.SCHEDULED, Status.ACTIVE, Status.SUPERSEDED, Status.RETIRED)

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    summary = models.TextField(
        blank=True,
        help_text="What changed in this version, and why.",
        max_length=TEXT_MAX,
        validators=text_validators(),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    proposed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    effective_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Chosen start of the terms: a later date, or (staff, with a reason) an "
        "earlier one to backfill history. Empty: in force when the second side signs.",
    )
    effective_reason = models.TextField(
        blank=True,
        help_text="Why the terms start before they were signed (a backfill).",
        max_length=TEXT_MAX,
        validators=text_validators(),
    )
    effective_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applies_to_running_periods = models.BooleanField(
        default=False,
        help_text="The quota periods already running when the version comes into force are "
        "judged by its terms too (otherwise they keep the terms they started under).",
    )
    effective_at = models.DateTimeField(
        null=True, blank=True, help_text="In force from (set once both sides have signed)."
    )

    class Meta:
        ordering = ["agreement", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "number"], name="agreementversion_unique_number"
            ),
            models.UniqueConstraint(
                fields=["agreement"],
                condition=Q(status="active"),
                name="agreementversion_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} v{self.number} ({self.status})"

    @property
    def label(self) -> str:
        return f"v{self.number}"

    def in_force_at(self, at) -> bool:
        """Signed, effective at or before `at`, and not ended by then."""
        return (
            self.status in self.SIGNED_STATUSES
            and self.effective_at is not None
            and self.effective_at <= at
            and (self.ended_at is None or self.ended_at > at)
        )


class Signature(models.Model):
    version = models.ForeignKey(
        AgreementVersion, on_delete=models.CASCADE, related_name="signatures"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "side"], name="signature_one_per_side")
        ]

    def __str__(self) -> str:
        return f"{self.side} signed by {self.user} at {self.signed_at:%Y-%m-%d %H:%M}"


class TermComment(models.Model):
    """A remark on one term of a proposed or drafted version, from either side: the
    amendment is argued here, term by term (`clause`: the promise across versions)."""

    version = models.ForeignKey(
        AgreementVersion, on_delete=models.CASCADE, related_name="term_comments"
    )
    clause = models.UUIDField(db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    side = models.CharField(max_length=10, choices=Side.choices, blank=True)
    body = models.CharField(max_length=2000)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on v{self.version_id} by {self.author}"


class Commitment(models.Model):
    """One promise in a version. Per kind, commitments match leads in `order`; first wins."""

    # The kinds, their sides and required fields come from the registry (agreements.kinds).
    Kind = models.TextChoices(
        "Kind", [(code.upper(), (code, spec.label)) for code, spec in kinds.KINDS.items()]
    )

    class Clock(models.TextChoices):
        BUSINESS = "business", "Business time"
        CALENDAR = "calendar", "Calendar time"

    class Period(models.TextChoices):
        WEEK = "week", "Week"
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    class Stage(models.TextChoices):
        MQL = "mql", "MQL"
        SAL = "sal", "SAL"
        SQL = "sql", "SQL"

    SIDE_OF_KIND = {k: Side(kinds.KINDS[k].side) for k in Kind}
    LEAD_KINDS = tuple(k for k in Kind if k in kinds.LEAD_KINDS)
    PERIOD_KINDS = tuple(k for k in Kind if k in kinds.PERIOD_KINDS)

    version = models.ForeignKey(
        AgreementVersion, on_delete=models.CASCADE, related_name="commitments"
    )
    clause = models.UUIDField(
        default=uuid.uuid4,
        db_index=True,
        help_text="The same promise across versions: an amended commitment keeps its clause, "
        "so its history reads on.",
    )
    kind = models.CharField(max_length=15, choices=Kind.choices)
    order = models.PositiveIntegerField(default=0, help_text="Lower matches first within a kind.")
    name = models.CharField(max_length=150, blank=True)
    applies_to = models.JSONField(
        default=dict,
        blank=True,
        help_text='Filter on lead fields, e.g. {"tier": ["A"], "min_score": 50}. Empty: all.',
    )
    clock = models.CharField(max_length=10, choices=Clock.choices, default=Clock.BUSINESS)
    warn_at_pct = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Warn when this share of the time has passed; empty for no warning.",
    )
    within = models.CharField(
        max_length=32, blank=True, validators=[validate_iso_duration], help_text="e.g. PT4H, P1D"
    )
    attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    every = models.CharField(
        max_length=32, blank=True, validators=[validate_iso_duration], help_text="e.g. P2D"
    )
    min_gap = models.CharField(
        max_length=32,
        blank=True,
        default="PT1H",
        validators=[validate_iso_duration],
        help_text="Touches closer together than this count as one attempt (elapsed time; "
        "empty: every touch counts).",
    )
    target = models.PositiveIntegerField(null=True, blank=True)
    stage = models.CharField(max_length=5, choices=Stage.choices, blank=True)
    period = models.CharField(max_length=10, choices=Period.choices, blank=True)
    min_acceptance_pct = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    min_sample = models.PositiveIntegerField(default=10)

    class Meta:
        ordering = ["version", "kind", "order", "id"]
        indexes = [models.Index(fields=["version", "kind", "order"])]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} #{self.order}"

    @property
    def side(self) -> str:
        return self.SIDE_OF_KIND[self.kind]

    def clean(self) -> None:
        spec = kinds.KINDS.get(self.kind)
        required = spec.required if spec else ()
        errors = {
            name: f"Required for a {spec.label.lower()} commitment."
            for name in required
            if getattr(self, name) in (None, "")
        }
        from agreements.matching import validate_applies_to

        try:
            validate_applies_to(self.applies_to)
        except ValueError as exc:
            errors["applies_to"] = str(exc)
        if errors:
            raise ValidationError(errors)


class Goal(models.Model):
    """A shared SMART goal on a measured metric, with check-ins."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="goals")
    name = models.CharField(max_length=150)
    metric = models.CharField(
        max_length=50, help_text="A metric name from docs/metrics.md, e.g. first_touch_pct."
    )
    target = models.DecimalField(max_digits=12, decimal_places=2)
    period = models.CharField(max_length=10, choices=Commitment.Period.choices)
    starts_on = models.DateField(default=date.today)
    ends_on = models.DateField(null=True, blank=True)

    class Sides(models.TextChoices):
        BOTH = "both", "Both teams"
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    sides = models.CharField(
        max_length=10,
        choices=Sides.choices,
        default=Sides.BOTH,
        help_text="The side(s) that own the goal; `owner` is the person who answers for it.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notes = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())

    class Meta:
        ordering = ["agreement", "name"]

    def __str__(self) -> str:
        return self.name


class GoalCheckIn(models.Model):
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="check_ins")
    on = models.DateField()
    value = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Empty: nothing to judge."
    )
    note = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    marketing_note = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    sales_note = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    # The moment `value` was computed by the metric code (reports.goals); None: typed in
    # before check-ins were computed.
    at = models.DateTimeField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["goal", "-on", "-id"]

    def __str__(self) -> str:
        return f"{self.goal} on {self.on}: {self.value}"


class RejectionReason(models.Model):
    """A reason sales may give when rejecting a handed-off lead: one sales team's list (kept
    by its managers), or, without a team, one for every sales team (kept by staff)."""

    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rejection_reasons",
        limit_choices_to={"side": Side.SALES},
        help_text="The sales team whose list this is; empty: every sales team's.",
    )
    code = models.SlugField(max_length=50)
    label = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "label"]
        constraints = [
            models.UniqueConstraint(fields=["team", "code"], name="rejectionreason_team_code"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(team__isnull=True), name="rejectionreason_code_global"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Invitation(models.Model):
    """An emailed link to join a team: the person sets a username and password, and becomes
    a member (or manager) of the team. Only a SHA-256 hash of the token is stored; a link
    works once, until `expires_at`."""

    email = models.EmailField(max_length=254)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} → {self.team} ({self.role})"


class IdempotencyKey(models.Model):
    """An API create sent with an `Idempotency-Key` header: the answer given, so the same
    request sent again by a re-run script gets it back instead of a second object
    (docs/api.md, "Provisioning a company")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status = models.PositiveSmallIntegerField()
    body = models.TextField(help_text="The answer, as JSON text (keys in their order).")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_unique_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"


class Review(models.Model):
    """A joint review of an agreement by both sides (monthly by default): the month it looks
    back on, the day the managers chose, its notes and action items. Its agenda is the
    month's review pack (reports.review_pack), read when shown, not copied."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="reviews")
    month = models.DateField(help_text="The first day of the month reviewed.")
    held_on = models.DateField(help_text="The day of the meeting, chosen by the managers.")
    notes = models.TextField(blank=True, max_length=TEXT_MAX, validators=text_validators())
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When its record was last emailed to both teams."
    )

    class Meta:
        ordering = ["agreement", "-held_on", "-id"]

    def __str__(self) -> str:
        return f"Review of {self.agreement} for {self.month:%B %Y} on {self.held_on}"


class ActionItem(models.Model):
    """Something a review asked one person to do by a date; on that person's home page
    until marked done."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="action_items"
    )
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(
                fields=["owner", "due_on"],
                condition=Q(done_at__isnull=True),
                name="actionitem_open_by_owner",
            )
        ]

    def __str__(self) -> str:
        return self.text


class ReplayRun(models.Model):
    """A what-if replay of a drafted version: a past window's leads and touches played
    again under its terms, beside the terms in force (agreements.replay). The result is
    kept, so the page shows the last one."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    version = models.ForeignKey(
        AgreementVersion, on_delete=models.CASCADE, related_name="replay_runs"
    )
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done.")
    leads = models.PositiveIntegerField(default=0, help_text="Leads handed off in the window.")
    result = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While running: the worker holds the run until then (its progress renews "
        "it); past it, the worker is taken for dead and the run is sent again.",
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker claimed it.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["version", "-created_at"])]

    def __str__(self) -> str:
        return f"Replay of {self.version} ({self.status})"

    @property
    def ended(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
