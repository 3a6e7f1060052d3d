from django.contrib import admin
from django.utils import timezone

from alerts import delivery
from alerts.models import Alert, NotificationPreference, NotificationSettings


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
    list_display = ["user", "event", "mode"]
    list_filter = ["event", "mode"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "timezone", "digest_hour"]
