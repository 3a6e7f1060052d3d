from django.contrib import admin

from integrations.models import (
    ApiToken,
    Import,
    ImportRow,
    InboundEvent,
    WebhookDelivery,
    WebhookSource,
    WebhookSubscription,
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "source_system", "is_active", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ["source", "event_type", "event_id", "received_at"]
    list_filter = ["source", "event_type"]
    readonly_fields = [f.name for f in InboundEvent._meta.fields]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "is_active", "consecutive_failures", "disabled_at"]
    list_filter = ["is_active"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "subscription", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


class ImportRowInline(admin.TabularInline):
    model = ImportRow
    extra = 0
    readonly_fields = ["number", "result", "lead", "external_id", "errors"]


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "status", "processed_rows", "total_rows", "error_count"]
    list_filter = ["status", "preset"]
    exclude = ["content"]
    inlines = [ImportRowInline]
