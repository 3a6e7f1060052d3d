from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from agreements import services
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import (
    Agreement,
    AgreementVersion,
    BusinessCalendar,
    Commitment,
    Goal,
    GoalCheckIn,
    Holiday,
    Membership,
    RejectionReason,
    Signature,
    Team,
    WorkingHours,
)


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "holiday_country", "holiday_subdivision"]
    list_filter = ["timezone", "holiday_country"]
    search_fields = ["name"]
    inlines = [WorkingHoursInline, HolidayInline]


class MembershipInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """A team that has a manager keeps one (as `membership_set`/`membership_remove`)."""
        super().clean()
        if (
            self.instance.pk is None
            or not self.instance.memberships.filter(role=Membership.Role.MANAGER).exists()
        ):
            return
        kept = [
            f
            for f in self.forms
            if f.cleaned_data
            and not f.cleaned_data.get("DELETE")
            and f.cleaned_data.get("role") == Membership.Role.MANAGER
        ]
        if not kept:
            raise forms.ValidationError("The team keeps at least one manager.")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "side", "timezone", "calendar"]
    list_filter = ["side", "timezone"]
    search_fields = ["name"]
    inlines = [MembershipInline]


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "team", "role"]

    def clean(self):
        data = super().clean()
        before = self.instance
        if before.pk and before.role == Membership.Role.MANAGER:
            moved = data.get("team") != before.team or data.get("role") != before.role
            last = before.team.memberships.filter(role=Membership.Role.MANAGER).count() == 1
            if moved and last:
                raise forms.ValidationError(
                    f"{before.user} is the last manager of {before.team}: name another one first."
                )
        return data


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipAdminForm
    list_display = ["user", "team", "role"]
    list_filter = ["role", "team__side", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user", "team"]

    def delete_model(self, request, obj) -> None:
        try:
            services.membership_remove(team=obj.team, user=obj.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset.select_related("team", "user"):
            self.delete_model(request, membership)


class VersionInline(admin.TabularInline):
    model = AgreementVersion
    fields = ["number", "status", "proposed_at", "effective_at", "ended_at", "summary"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["name", "marketing_team", "sales_team", "calendar", "created_at"]
    list_filter = ["marketing_team", "sales_team"]
    search_fields = ["name"]
    inlines = [VersionInline]
    actions = ["draft_new_version"]

    @admin.action(description="Draft a new version (copy of the newest)")
    def draft_new_version(self, request, queryset) -> None:
        for agreement in queryset:
            try:
                version = services.agreement_version_draft(agreement=agreement, user=request.user)
                self.message_user(request, f"Drafted {version}.")
            except ValidationError as exc:
                self.message_user(request, f"{agreement}: {exc.messages[0]}", messages.ERROR)


class CommitmentInline(admin.StackedInline):
    model = Commitment
    extra = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or obj.status == AgreementVersion.Status.DRAFT

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


class SignatureInline(admin.TabularInline):
    model = Signature
    extra = 0
    readonly_fields = ["side", "user", "signed_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AgreementVersion)
class AgreementVersionAdmin(admin.ModelAdmin):
    list_display = ["agreement", "number", "status", "proposed_at", "effective_at", "ended_at"]
    list_filter = ["status", "agreement"]
    search_fields = ["agreement__name", "summary"]
    # When terms start is chosen on proposal (page or API), where the services check it.
    readonly_fields = [
        "status",
        "proposed_at",
        "effective_from",
        "effective_reason",
        "effective_set_by",
        "applies_to_running_periods",
        "effective_at",
        "activated_at",
        "ended_at",
        "created_by",
    ]
    inlines = [CommitmentInline, SignatureInline]
    actions = ["propose", "sign"]

    def _run(self, request, queryset, action) -> None:
        for version in queryset:
            try:
                action(version)
                self.message_user(request, f"{version}: done.")
            except (ValidationError, PermissionDenied) as exc:
                text = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{version}: {text}", messages.ERROR)

    @admin.action(description="Propose the selected drafts")
    def propose(self, request, queryset) -> None:
        now = timezone.now()
        self._run(
            request, queryset, lambda v: services.agreement_version_propose(version=v, now=now)
        )

    @admin.action(description="Sign the selected versions for my side")
    def sign(self, request, queryset) -> None:
        now = timezone.now()
        self._run(
            request,
            queryset,
            lambda v: services.agreement_version_sign(version=v, user=request.user, now=now),
        )


@admin.register(Commitment)
class CommitmentAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "version",
        "kind",
        "order",
        "clock",
        "within",
        "attempts",
        "every",
        "target",
        "period",
    ]
    list_filter = ["kind", "clock", "version__status", "version__agreement"]
    search_fields = ["name", "version__agreement__name"]

    # A proposed or signed version's terms stay as the sides read and signed them: they
    # change only after the version is returned to draft, which voids its signatures.
    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.version.status == AgreementVersion.Status.DRAFT)

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.version.status == AgreementVersion.Status.DRAFT)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            kwargs["queryset"] = AgreementVersion.objects.filter(
                status=AgreementVersion.Status.DRAFT
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CheckInInline(admin.TabularInline):
    model = GoalCheckIn
    extra = 0


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    list_display = ["name", "agreement", "metric", "target", "period", "starts_on", "ends_on"]
    list_filter = ["period", "agreement", "metric"]
    search_fields = ["name", "notes"]
    inlines = [CheckInInline]


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "is_active", "order"]
    list_filter = ["is_active"]
    search_fields = ["label", "code"]
    list_editable = ["is_active", "order"]
