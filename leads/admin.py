"""Admin for leads and clocks. Changes that move clocks go through the lead services."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from agreements import access
from agreements.errors import PermissionDenied, ValidationError
from leads import bounds, services
from leads.models import (
    Activity,
    Backfill,
    Breach,
    BreachComment,
    Lead,
    Obligation,
    StageEvent,
)


class StageEventInline(admin.TabularInline):
    model = StageEvent
    extra = 0
    readonly_fields = ["from_stage", "to_stage", "occurred_at", "user", "note"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ObligationInline(admin.TabularInline):
    model = Obligation
    fk_name = "lead"
    extra = 0
    fields = ["kind", "attempt", "status", "starts_at", "warn_at", "due_at", "met_at", "user"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class LeadAdminForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = ["owner", "sales_team"]  # the admin adds its own fields

    def clean(self):
        data = super().clean()
        access.require_owner(data.get("sales_team"), data.get("owner"))  # as every path
        return data


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
    list_display = [
        "name",
        "company",
        "tier",
        "stage",
        "owner",
        "sales_team",
        "handed_off_at",
        "lead_source",
        "campaign",
    ]
    list_filter = ["stage", "tier", "sales_team", "lead_source", "source_system"]
    search_fields = ["name", "email", "company", "external_id", "campaign"]
    date_hierarchy = "handed_off_at"
    list_select_related = ["owner", "sales_team"]
    autocomplete_fields = ["owner"]
    readonly_fields = [
        "stage",
        "handed_off_at",
        "agreement_version",
        "accepted_at",
        "rejected_at",
        "rejection_reason",
        "created_at",
        "updated_at",
    ]
    inlines = [StageEventInline, ObligationInline]
    actions = ["hand_off", "accept"]

    def save_model(self, request, obj, form, change) -> None:
        now = timezone.now()
        if not change:
            data = {f: form.cleaned_data[f] for f in services.LEAD_DATA_FIELDS}
            created = services.lead_create(
                source_system=obj.source_system,
                external_id=obj.external_id,
                owner=obj.owner,
                sales_team=obj.sales_team,
                marketing_team=obj.marketing_team,
                now=now,
                user=request.user,
                **data,
            )
            obj.pk = created.pk
            return
        owner_changed = "owner" in form.changed_data
        data = {
            f: form.cleaned_data[f] for f in services.LEAD_DATA_FIELDS if f in form.changed_data
        }
        lead = Lead.objects.get(pk=obj.pk)
        services.lead_update(lead=lead, data=data)
        other = {f: getattr(obj, f) for f in ("sales_team", "marketing_team", "source_system")}
        Lead.objects.filter(pk=obj.pk).update(**other)
        if owner_changed:
            services.lead_reassign(lead=lead, owner=obj.owner, now=now, user=request.user)

    def delete_model(self, request, obj) -> None:
        services.lead_delete(leads=[obj], now=timezone.now())

    def delete_queryset(self, request, queryset) -> None:
        services.lead_delete(leads=queryset, now=timezone.now())

    def _run(self, request, queryset, action) -> None:
        for lead in queryset:
            try:
                action(lead)
            except (ValidationError, PermissionDenied) as exc:
                text = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{lead}: {text}", messages.ERROR)

    @admin.action(description="Hand off to sales now")
    def hand_off(self, request, queryset) -> None:
        now = timezone.now()
        self._run(
            request,
            queryset,
            lambda lead: services.lead_hand_off(lead=lead, now=now, user=request.user),
        )

    @admin.action(description="Accept (SAL)")
    def accept(self, request, queryset) -> None:
        now = timezone.now()
        self._run(
            request,
            queryset,
            lambda lead: services.lead_accept(lead=lead, now=now, user=request.user),
        )


class ActivityAdminForm(forms.ModelForm):
    backfill_reason = forms.CharField(
        required=False,
        max_length=300,
        help_text="Why a touch further back than the backfill window is recorded (staff).",
    )

    class Meta:
        model = Activity
        fields = [
            "lead",
            "kind",
            "outcome",
            "occurred_at",
            "user",
            "note",
            "source_system",
            "external_id",
        ]

    def clean(self):
        data = super().clean()
        lead, at = data.get("lead"), data.get("occurred_at")
        if lead is not None and at is not None:
            try:
                with bounds.backfill(data.get("backfill_reason"), by=self.acting_user):
                    bounds.check_event_time(
                        lead,
                        at,
                        now=timezone.now(),
                        user=data.get("user") or self.acting_user,
                        field="occurred_at",
                        record=False,
                    )
            except ValidationError as exc:
                raise forms.ValidationError(exc.message_dict) from None
        return data


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    form = ActivityAdminForm
    list_display = ["lead", "kind", "outcome", "occurred_at", "user", "source_system"]
    list_filter = ["kind", "outcome", "source_system"]
    search_fields = ["lead__name", "lead__company", "external_id", "note"]
    date_hierarchy = "occurred_at"
    list_select_related = ["lead", "user"]
    autocomplete_fields = ["lead", "user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a logged touch is a fact; it already moved the clocks

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.acting_user = request.user
        return form

    def save_model(self, request, obj, form, change) -> None:
        with bounds.backfill(form.cleaned_data.get("backfill_reason"), by=request.user):
            created = services.activity_log(
                lead=obj.lead,
                kind=obj.kind,
                outcome=obj.outcome,
                occurred_at=obj.occurred_at,
                user=obj.user or request.user,
                note=obj.note,
                source_system=obj.source_system,
                external_id=obj.external_id,
                now=timezone.now(),
            )
        obj.pk = created.pk


@admin.register(Backfill)
class BackfillAdmin(admin.ModelAdmin):
    """Times recorded beyond the backfill window, on staff's word (read only)."""

    list_display = ["lead", "field", "occurred_at", "recorded_at", "user", "reason"]
    list_select_related = ["lead", "user"]
    search_fields = ["lead__name", "reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Obligation)
class ObligationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "side", "status", "due_at", "team", "user", "met_at"]
    list_filter = ["status", "kind", "side", "team"]
    search_fields = ["lead__name", "lead__company"]
    date_hierarchy = "due_at"
    list_select_related = ["lead", "team", "user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


class CommentInline(admin.TabularInline):
    model = BreachComment
    extra = 0
    readonly_fields = ["author", "created_at"]


@admin.register(Breach)
class BreachAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "side", "team", "user", "due_at", "status", "resolution"]
    list_filter = ["status", "side", "kind", "resolution", "team"]
    search_fields = ["lead__name", "lead__company", "dispute_reason", "acknowledge_note"]
    date_hierarchy = "due_at"
    list_select_related = ["lead", "team", "user"]
    readonly_fields = [f.name for f in Breach._meta.fields]
    inlines = [CommentInline]
    actions = ["acknowledge"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Acknowledge")
    def acknowledge(self, request, queryset) -> None:
        now = timezone.now()
        for breach in queryset:
            try:
                services.breach_acknowledge(breach=breach, user=request.user, now=now)
            except ValidationError as exc:
                self.message_user(request, f"{breach}: {exc.messages[0]}", messages.ERROR)
