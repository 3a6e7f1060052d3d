"""The home redirect and the settings pages. The role homes are the apps' own: the rep's
queue in leads.views, the team and marketing homes in reports.views."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import access
from agreements.hours import (
    calendar_hours_set,
    calendar_public_holidays_set,
    day_text,
    holiday_add,
    holiday_delete,
    next_working_moments,
    upcoming_public_holidays,
    week_of,
)
from agreements.invitations import (
    invitation_accept,
    invitation_create,
    invitation_for_token,
    pending_invitations,
)
from agreements.models import (
    BusinessCalendar,
    Holiday,
    Membership,
    RejectionReason,
    Side,
    Team,
)
from agreements.selectors import roles_of
from agreements.services import membership_change_role, membership_remove, membership_set
from agreements.setup import first_run_setup, template_sentences
from slahub.settings_forms import (
    AcceptForm,
    HoursForm,
    InviteForm,
    PublicHolidaysForm,
    SetupForm,
    WebhookSourceForm,
)

PAGE_SIZE = 25


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each person lands on the page that answers their question (staff, on an empty
    database: the first-run setup)."""
    if access.can_run_setup(request.user):
        return redirect("settings-setup")
    return redirect(roles_of(request.user).home_of(request.user))


@login_required
def welcome(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/welcome.html", {"nav": "home"})


# Settings --------------------------------------------------------------------------------


def _require_reasons_editor(request: HttpRequest) -> None:
    if not access.can_edit_rejection_reasons(request.user):
        raise PermissionDenied("Only a sales manager changes the rejection reasons.")


@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    sections = _sections()
    if access.can_manage_webhook_sources(request.user):
        sections.append(
            ("settings-webhook-sources", "Inbound webhooks", "Tools that send leads in.")
        )
    context = {
        "nav": "settings",
        "sections": sections,
        "setup": access.can_run_setup(request.user),
    }
    return render(request, "settings/index.html", context)


def _sections() -> list[tuple[str, str, str]]:
    return [
        ("settings-calendars", "Business calendars", "Working hours and holidays of each clock."),
        ("settings-teams", "Teams and members", "Who is in which team, and who manages it."),
        ("settings-reasons", "Rejection reasons", "The list sales chooses from to reject a lead."),
        ("settings-notifications", "Notifications", "Which alerts you get, and how."),
        ("settings-tokens", "API tokens", "Personal keys for the REST API."),
        ("settings-connectors", "CRM connectors", "HubSpot and Salesforce: sync and write-back."),
        ("settings-audit", "Audit log", "Who changed agreements, breaches, members and access."),
    ]


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def clean_date(self):
        day = self.cleaned_data["date"]
        if Holiday.objects.filter(calendar=self.instance.calendar_id, date=day).exists():
            raise forms.ValidationError(f"{day:%d %b %Y} is already a holiday of this calendar.")
        return day


def _editable_calendar(request: HttpRequest, calendar: BusinessCalendar) -> None:
    if not access.can_edit_calendar(request.user, calendar):
        raise PermissionDenied("Only a manager of the teams this calendar times changes it.")


@login_required
def settings_calendars(request: HttpRequest) -> HttpResponse:
    calendars = list(
        access.calendars_visible_to(request.user)
        .prefetch_related("hours", "custom_holidays")
        .order_by("name")
    )
    editable = access.editable_calendar_ids(request.user, [c.pk for c in calendars])
    for calendar in calendars:
        calendar.can_edit = calendar.pk in editable
    can_edit = any(c.can_edit for c in calendars)
    return render(
        request,
        "settings/calendars.html",
        {
            "nav": "settings",
            "calendars": calendars,
            "can_edit": can_edit,
            "holiday_form": HolidayForm(),
        },
    )


@login_required
@require_POST
def settings_holiday_add(request: HttpRequest, pk: int) -> HttpResponse:
    calendar = get_object_or_404(access.calendars_visible_to(request.user), pk=pk)
    _editable_calendar(request, calendar)
    form = HolidayForm(request.POST, instance=Holiday(calendar=calendar))
    if form.is_valid():
        holiday_add(
            user=request.user,
            calendar=calendar,
            day=form.cleaned_data["date"],
            name=form.cleaned_data["name"],
        )
        messages.success(request, f"Holiday added to {calendar}.")
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"The holiday was not added: {errors}")
    return redirect("settings-calendars")


@login_required
@require_POST
def settings_holiday_delete(request: HttpRequest, pk: int) -> HttpResponse:
    holiday = get_object_or_404(
        Holiday.objects.filter(calendar__in=access.calendars_visible_to(request.user)), pk=pk
    )
    _editable_calendar(request, holiday.calendar)
    holiday_delete(user=request.user, holiday=holiday)
    messages.success(request, "Holiday removed.")
    return redirect("settings-calendars")


class MemberForm(forms.Form):
    username = forms.CharField(max_length=254, label="Username or email")
    role = forms.ChoiceField(choices=Membership.Role.choices)

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        users = get_user_model().objects
        user = users.filter(username=name).first()
        if user is None and "@" in name:
            user = users.filter(email__iexact=name).order_by("pk").first()
        if user is None:
            raise forms.ValidationError(
                f"No user is called {name!r}. Invite them by email instead."
            )
        return user


@login_required
def settings_teams(request: HttpRequest) -> HttpResponse:
    teams = list(
        access.teams_visible_to(request.user)
        .select_related("calendar")
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("user"))
        )
    )
    managed = {t.pk for t in roles_of(request.user).teams(managed=True)}
    staff = access.is_staff(request.user)
    changeable = [t.pk for t in teams if staff or t.pk in managed]
    pending: dict[int, list] = {}
    for invitation in pending_invitations(changeable, now=timezone.now()):
        pending.setdefault(invitation.team_id, []).append(invitation)
    for team in teams:
        team.pending = pending.get(team.pk, [])
    return render(
        request,
        "settings/teams.html",
        {
            "nav": "settings",
            "teams": teams,
            "managed": managed,
            "member_form": MemberForm(),
            "staff": staff,
            "roles": Membership.Role.choices,
        },
    )


def _managed_team(request: HttpRequest, pk: int) -> Team:
    team = get_object_or_404(Team, pk=pk)
    access.require_team_manager(request.user, team)
    return team


@login_required
@require_POST
def settings_member_remove(request: HttpRequest, pk: int, user: int) -> HttpResponse:
    team = _managed_team(request, pk)
    member = get_object_or_404(get_user_model(), pk=user)
    try:
        membership_remove(team=team, user=member)
    except ValidationError as exc:
        messages.error(request, f"Nobody was removed: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"{member} is no longer in {team}.")
    return redirect("settings-teams")


@login_required
@require_POST
def settings_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = _managed_team(request, pk)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            membership_set(
                team=team, user=form.cleaned_data["username"], role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            messages.error(request, f"Nothing changed: {' '.join(exc.messages)}")
        else:
            messages.success(request, f"{form.cleaned_data['username']} is now in {team}.")
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nobody was added: {errors}")
    return redirect("settings-teams")


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
@require_POST
def settings_invite(request: HttpRequest, pk: int) -> HttpResponse:
    team = _managed_team(request, pk)
    form = InviteForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nobody was invited: {errors}")
        return redirect("settings-teams")
    try:
        invitation, _ = invitation_create(
            user=request.user,
            team=team,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            now=timezone.now(),
        )
    except ValidationError as exc:
        messages.error(request, f"Nobody was invited: {_error_text(exc)}")
    else:
        messages.success(
            request,
            f"Invitation sent to {invitation.email}; the link works until "
            f"{timezone.localtime(invitation.expires_at):%d %b %Y %H:%M}.",
        )
    return redirect("settings-teams")


@login_required
@require_POST
def settings_member_role(request: HttpRequest, pk: int, user: int) -> HttpResponse:
    team = _managed_team(request, pk)
    member = get_object_or_404(get_user_model(), pk=user)
    role = request.POST.get("role", "")
    try:
        membership = membership_change_role(user=request.user, team=team, member=member, role=role)
    except ValidationError as exc:
        messages.error(request, f"The role did not change: {_error_text(exc)}")
    else:
        messages.success(
            request, f"{member} is now {membership.get_role_display().lower()} of {team}."
        )
    return redirect("settings-teams")


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link (no login): choose a username and password, once, before it expires."""
    now = timezone.now()
    try:
        invitation = invitation_for_token(token, now=now)
    except ValidationError as exc:
        return render(
            request, "registration/invitation.html", {"refused": _error_text(exc)}, status=410
        )
    form = AcceptForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                invitation_accept(
                    raw_token=token,
                    username=data["username"],
                    password=data["password"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    now=now,
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(
                    request, f"Welcome to {invitation.team}: log in with your new password."
                )
                return redirect("login")
        status = 400
    response = render(
        request,
        "registration/invitation.html",
        {"invitation": invitation, "form": form},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    # The token is in the URL: never sent to another site ("no-referrer" would make the
    # browser post the form with `Origin: null`, which the CSRF check refuses).
    response["Referrer-Policy"] = "same-origin"
    return response


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's errors next to their fields (the others at the top of the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# First-run setup --------------------------------------------------------------------------


@login_required
def settings_setup(request: HttpRequest) -> HttpResponse:
    if not access.can_run_setup(request.user):
        if access.is_staff(request.user):
            messages.info(request, "Setup is done: the teams exist. Change them here.")
            return redirect("settings-teams")
        raise PermissionDenied("The first-run setup is for staff.")
    form = SetupForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = first_run_setup(user=request.user, now=timezone.now(), **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                invited = ", ".join(i.email for i in result.invitations) or "nobody yet"
                messages.success(
                    request,
                    f"{result.marketing} and {result.sales} are set up; invitations sent to "
                    f"{invited}. The agreement's version 1 is a draft: edit it, then propose "
                    "it for signature.",
                )
                return redirect("agreement-detail", pk=result.agreement.pk)
        status = 400
    return render(
        request,
        "settings/setup.html",
        {"nav": "settings", "form": form, "template": template_sentences()},
        status=status,
    )


# Business hours and public holidays ---------------------------------------------------------


@login_required
def settings_calendar_hours(request: HttpRequest, pk: int) -> HttpResponse:
    calendar = get_object_or_404(
        access.calendars_visible_to(request.user).prefetch_related("hours", "custom_holidays"),
        pk=pk,
    )
    _editable_calendar(request, calendar)
    now = timezone.now()
    saved = week_of(calendar)
    form = HoursForm(initial={f"day_{d}": day_text(v) for d, v in saved.items()})
    preview_week = None
    status = 200
    if request.method == "POST":
        form = HoursForm(request.POST)
        if form.is_valid():
            if "preview" in request.POST:
                preview_week = form.cleaned_data["week"]
            else:
                try:
                    calendar_hours_set(
                        user=request.user, calendar=calendar, week=form.cleaned_data["week"]
                    )
                except ValidationError as exc:
                    _form_errors(form, exc)
                    status = 400
                else:
                    messages.success(request, f"Working hours of {calendar} saved.")
                    return redirect("settings-calendar-hours", pk=calendar.pk)
        else:
            status = 400
    return render(
        request,
        "settings/hours.html",
        {
            "nav": "settings",
            "calendar": calendar,
            "form": form,
            "previewing": preview_week is not None,
            "moments": next_working_moments(calendar, now=now, week=preview_week),
            "public_form": PublicHolidaysForm(
                initial={
                    "country": calendar.holiday_country,
                    "subdivision": calendar.holiday_subdivision,
                }
            ),
            "public_holidays": upcoming_public_holidays(calendar, today=timezone.localdate()),
        },
        status=status,
    )


@login_required
@require_POST
def settings_calendar_public_holidays(request: HttpRequest, pk: int) -> HttpResponse:
    calendar = get_object_or_404(access.calendars_visible_to(request.user), pk=pk)
    _editable_calendar(request, calendar)
    form = PublicHolidaysForm(request.POST)
    if form.is_valid():
        try:
            calendar_public_holidays_set(
                user=request.user,
                calendar=calendar,
                country=form.cleaned_data["country"],
                subdivision=form.cleaned_data["subdivision"],
            )
        except ValidationError as exc:
            messages.error(request, f"Public holidays unchanged: {_error_text(exc)}")
        else:
            where = calendar.holiday_country or "no country"
            if calendar.holiday_subdivision:
                where += f"-{calendar.holiday_subdivision}"
            messages.success(request, f"{calendar} now skips the public holidays of {where}.")
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Public holidays unchanged: {errors}")
    return redirect("settings-calendar-hours", pk=calendar.pk)


# Inbound webhook sources (staff) --------------------------------------------------------------


def _require_sources(request: HttpRequest) -> None:
    if not access.can_manage_webhook_sources(request.user):
        raise PermissionDenied("Only staff manage inbound webhook sources.")


def _sources_page(request, form, *, secret=None, shown=None, status=200) -> HttpResponse:
    from integrations.models import WebhookSource

    response = render(
        request,
        "settings/webhook_sources.html",
        {
            "nav": "settings",
            "form": form,
            "sources": WebhookSource.objects.order_by("name"),
            "secret": secret,
            "shown": shown,
        },
        status=status,
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
def settings_webhook_sources(request: HttpRequest) -> HttpResponse:
    from integrations.sources import webhook_source_add

    _require_sources(request)
    if request.method != "POST":
        return _sources_page(request, WebhookSourceForm())
    form = WebhookSourceForm(request.POST)
    if form.is_valid():
        try:
            source, secret = webhook_source_add(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            return _sources_page(request, WebhookSourceForm(), secret=secret, shown=source)
    return _sources_page(request, form, status=400)


@login_required
@require_POST
def settings_webhook_source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    from integrations.models import WebhookSource
    from integrations.sources import webhook_source_rotate

    _require_sources(request)
    source = get_object_or_404(WebhookSource, pk=pk)
    secret = webhook_source_rotate(user=request.user, source=source)
    return _sources_page(request, WebhookSourceForm(), secret=secret, shown=source)


@login_required
@require_POST
def settings_webhook_source_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    from integrations.models import WebhookSource
    from integrations.sources import webhook_source_set_active

    _require_sources(request)
    source = get_object_or_404(WebhookSource, pk=pk)
    webhook_source_set_active(user=request.user, source=source, active=not source.is_active)
    state = "on again" if source.is_active else "off: its requests are refused"
    messages.success(request, f"“{source.name}” is {state}.")
    return redirect("settings-webhook-sources")


class ReasonForm(forms.ModelForm):
    """A reason for one of the sales teams the user manages (staff: any, or every team)."""

    class Meta:
        model = RejectionReason
        fields = ["team", "label", "code", "order"]
        help_texts = {"code": "Short name used by the API and imports, e.g. no-budget."}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.filter(side=Side.SALES)
        if user.is_staff:
            self.fields["team"].empty_label = "Every sales team"
        else:
            teams = teams.filter(pk__in=access.reason_team_ids(user))
            self.fields["team"].required = True
            self.fields["team"].empty_label = None
        self.fields["team"].queryset = teams.order_by("name")

    def clean(self):
        data = super().clean()
        team, code = data.get("team"), data.get("code")
        if code and RejectionReason.objects.filter(team=team, code=code).exists():
            self.add_error("code", "This list already has a reason with this code.")
        return data


@login_required
def settings_reasons(request: HttpRequest) -> HttpResponse:
    can_edit = access.can_edit_rejection_reasons(request.user)
    form = ReasonForm(user=request.user) if can_edit else None
    status = 200
    if request.method == "POST":
        _require_reasons_editor(request)
        form = ReasonForm(request.POST, user=request.user)
        if form.is_valid():
            form.save()
            messages.success(request, f"Reason “{form.instance.label}” added.")
            return redirect("settings-reasons")
        status = 400
    reasons = list(
        access.rejection_reasons_visible_to(request.user).order_by("team__name", "order", "label")
    )
    for reason in reasons:
        reason.can_change = access.can_change_rejection_reason(request.user, reason)
    return render(
        request,
        "settings/reasons.html",
        {"nav": "settings", "reasons": reasons, "form": form, "can_edit": can_edit},
        status=status,
    )


@login_required
@require_POST
def settings_reason_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    reason = get_object_or_404(access.rejection_reasons_visible_to(request.user), pk=pk)
    if not access.can_change_rejection_reason(request.user, reason):
        raise PermissionDenied("Only a manager of the reason's sales team (or staff) changes it.")
    reason.is_active = not reason.is_active
    reason.save(update_fields=["is_active"])
    state = "back on the list" if reason.is_active else "off the list"
    messages.success(request, f"“{reason.label}” is {state}.")
    return redirect("settings-reasons")


# Notification preferences (alerts app) ----------------------------------------------------


@login_required
def settings_notifications(request: HttpRequest) -> HttpResponse:
    from alerts.models import Mode
    from alerts.selectors import preferences_for
    from alerts.services import preference_set

    status = 200
    errors: list[str] = []
    if request.method == "POST":
        rows = preferences_for(request.user)
        changed = 0
        for row in rows:
            mode = request.POST.get(f"mode-{row['event']}")
            if mode is None or mode == row["mode"]:
                continue
            try:
                preference_set(user=request.user, event=row["event"], mode=mode)
                changed += 1
            except ValidationError as exc:
                errors += [f"{row['label']}: {m}" for m in exc.messages]
        if "channels-shown" in request.POST:  # the channel boxes (absent: none ticked)
            from alerts.views import save_channel_choices

            channel_changes, channel_errors = save_channel_choices(request, rows)
            changed += channel_changes
            errors += channel_errors
        if not errors:
            messages.success(request, f"Notification preferences saved ({changed} changed).")
            return redirect("settings-notifications")
        status = 400
    preferences = preferences_for(request.user)
    for row in preferences:
        row["choices"] = [
            (value, label)
            for value, label in Mode.choices
            if (row["can_turn_off"] or value != Mode.OFF)
            and not (row["event"] == "digest" and value == Mode.IMMEDIATE)
        ]
    from alerts.views import chat_context

    return render(
        request,
        "settings/notifications.html",
        {"nav": "settings", "preferences": preferences, "errors": errors}
        | chat_context(request.user),
        status=status,
    )


# Personal API tokens (integrations app) ---------------------------------------------------


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What will use it, e.g. “CRM sync” or “BI export”."
    )


@login_required
def settings_tokens(request: HttpRequest) -> HttpResponse:
    from integrations.models import ApiToken
    from integrations.services import api_token_create

    form = TokenForm()
    raw_key = None
    status = 200
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                token, raw_key = api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("name", message)
                status = 400
            else:
                form = TokenForm()
        else:
            status = 400
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
    response = render(
        request,
        "settings/tokens.html",
        {"nav": "settings", "form": form, "tokens": tokens, "raw_key": raw_key},
        status=status,
    )
    if raw_key:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def settings_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    from integrations.models import ApiToken
    from integrations.services import api_token_revoke

    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token.revoked_at is None:
        api_token_revoke(token=token, now=timezone.now())
        messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("settings-tokens")
