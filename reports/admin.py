"""The rollups' state, read-only: how far each sales team's rollups go and when they were
last refreshed. The rows themselves are the refresh's alone (`manage.py refresh_rollups`)."""

from django.contrib import admin

from reports.models import RollupState


@admin.register(RollupState)
class RollupStateAdmin(admin.ModelAdmin):
    list_display = ["team", "timezone", "through_day", "refreshed_at"]
    list_select_related = ["team"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
