"""One row per audited change (agreements, breaches, memberships, access)."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    VERSION_DRAFT = "version.draft", "Version drafted"
    VERSION_PROPOSE = "version.propose", "Version proposed"
    VERSION_SIGN = "version.sign", "Version signed"
    VERSION_ACTIVATE = "version.activate", "Version in force"
    VERSION_RETIRE = "version.retire", "Version retired"
    VERSION_REPLAY = "version.replay", "What-if replay requested"
    VERSION_REOPEN = "version.reopen", "Version returned to draft (signatures voided)"
    TERM_COMMENT = "term.comment", "Term commented"
    COMMITMENT_CREATE = "commitment.create", "Commitment added"
    COMMITMENT_UPDATE = "commitment.update", "Commitment changed"
    COMMITMENT_DELETE = "commitment.delete", "Commitment removed"
    COMMITMENT_MOVE = "commitment.move", "Commitment moved"
    MEMBERSHIP_SET = "membership.set", "Member added or role changed"
    MEMBERSHIP_REMOVE = "membership.remove", "Member removed"
    BREACH_ACKNOWLEDGE = "breach.acknowledge", "Breach acknowledged"
    BREACH_DISPUTE = "breach.dispute", "Breach disputed"
    BREACH_RESOLVE = "breach.resolve", "Breach resolved"
    BREACH_COMMENT = "breach.comment", "Breach commented"
    REJECTION_CONTEST = "rejection.contest", "Rejection contested"
    REJECTION_DECIDE = "rejection.decide", "Contested rejection decided"
    ACTIVITY_UNDO = "activity.undo", "Touch undone"
    API_TOKEN_CREATE = "api_token.create", "API token created"
    API_TOKEN_REVOKE = "api_token.revoke", "API token revoked"
    WEBHOOK_CREATE = "webhook.create", "Webhook subscribed"
    WEBHOOK_UPDATE = "webhook.update", "Webhook changed"
    WEBHOOK_DELETE = "webhook.delete", "Webhook deleted"
    USER_ACCESS = "user.access", "Staff, superuser or active flag changed"
    SETUP_RUN = "setup.run", "First-run setup"
    INVITATION_CREATE = "invitation.create", "Invitation sent"
    INVITATION_ACCEPT = "invitation.accept", "Invitation accepted"
    CALENDAR_HOURS = "calendar.hours", "Working hours changed"
    CALENDAR_PUBLIC_HOLIDAYS = "calendar.public_holidays", "Public holidays changed"
    HOLIDAY_ADD = "holiday.add", "Holiday added"
    HOLIDAY_DELETE = "holiday.delete", "Holiday removed"
    WEBHOOK_SOURCE_CREATE = "webhook_source.create", "Inbound webhook source added"
    WEBHOOK_SOURCE_ROTATE = "webhook_source.rotate", "Inbound webhook secret replaced"
    WEBHOOK_SOURCE_ACTIVE = "webhook_source.active", "Inbound webhook source turned on or off"
    CONNECTOR_SAVE = "connector.save", "CRM connector set up or changed"
    TEAM_CREATE = "team.create", "Team created"
    TEAM_UPDATE = "team.update", "Team changed"
    CALENDAR_CREATE = "calendar.create", "Business calendar created"
    CALENDAR_UPDATE = "calendar.update", "Business calendar renamed or moved to another time zone"
    REJECTION_REASON_CREATE = "rejection_reason.create", "Rejection reason added"
    REJECTION_REASON_UPDATE = "rejection_reason.update", "Rejection reason changed"
    TEAM_CHANNEL_SET = "team_channel.set", "Team chat channel set up or changed"
    GOAL_CREATE = "goal.create", "Shared goal set"
    GOAL_UPDATE = "goal.update", "Shared goal changed"
    GOAL_DELETE = "goal.delete", "Shared goal deleted"
    GOAL_CHECK_IN = "goal.check_in", "Goal checked in"
    REVIEW_CREATE = "review.create", "Review scheduled"
    REVIEW_NOTES = "review.notes", "Review notes written"
    REVIEW_SEND = "review.send", "Review record emailed"
    ACTION_ITEM_ADD = "action_item.add", "Action item set"
    ACTION_ITEM_DONE = "action_item.done", "Action item done"


class AuditEvent(models.Model):
    """Kept when its object, its actor or its teams are gone: the names are copied."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Empty: the system.")
    action = models.CharField(max_length=30, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    teams = models.ManyToManyField("agreements.Team", related_name="audit_events", blank=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["action", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action}"
