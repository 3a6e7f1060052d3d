from django.contrib import admin
from django.utils import timezone

from alerts import chat_delivery, delivery
from alerts.models import (
    Alert,
    ChannelDelivery,
    NotificationPreference,
    NotificationSettings,
    TeamChannel,
)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "to_email", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "event"]
    search_fields = ["to_email", "subject", "key"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Alert._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected failed or pending alerts now")
    def retry_now(self, request, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = delivery.retry_now(ids, now=timezone.now())
        self.message_user(request, f"{count} alerts will be sent on the next delivery run.")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "mode", "channels"]
    list_filter = ["event", "mode"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "timezone", "digest_hour"]
    exclude = ["slack_webhook_url", "teams_webhook_url"]  # secrets: set on the user's page


@admin.register(TeamChannel)
class TeamChannelAdmin(admin.ModelAdmin):
    """Read-only: set on the notification settings page (a service, audited); the
    secrets are not shown."""

    list_display = ["team", "channel", "events", "is_active", "updated_at", "updated_by"]
    fields = ["team", "channel", "slack_channel", "events", "is_active", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChannelDelivery)
class ChannelDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "channel", "recipient", "team_channel", "status"]
    list_display += ["attempts", "last_error"]
    list_filter = ["status", "channel", "event"]
    search_fields = ["key", "last_error"]
    readonly_fields = [f.name for f in ChannelDelivery._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected failed or pending chat alerts now")
    def retry_now(self, request, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = chat_delivery.retry_now(ids, now=timezone.now())
        self.message_user(request, f"{count} chat alerts will be sent on the next delivery run.")
