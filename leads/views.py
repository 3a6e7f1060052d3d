"""Lead and breach pages: thin views over leads.services (writes) and selectors (reads)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agreements import access
from agreements.models import RejectionReason, Side
from agreements.selectors import roles_of
from agreements.wording import commitment_sentence
from leads import rules, services
from leads.forms import (
    ActivityForm,
    BreachFilterForm,
    CommentForm,
    DisputeForm,
    NoteForm,
    ReassignForm,
    RejectForm,
    ResolveForm,
    StageForm,
)
from leads.models import Activity, Breach, Lead, Obligation
from leads.selectors import (
    breach_rights,
    breaches_visible_to,
    follow_ups_due,
    leads_visible_to,
    queue_lead,
    queue_leads,
)

PAGE_SIZE = 25


def error_messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{m}" for msgs in exc.message_dict.values() for m in msgs]
    return list(exc.messages)


def form_errors(form) -> list[str]:
    return [str(e) for errors in form.errors.values() for e in errors]


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def active_reasons(team_ids) -> list[RejectionReason]:
    """The reasons leads of these sales teams may be rejected with (theirs and everyone's)."""
    return list(access.rejection_reasons_for(team_ids))


# Who may do what -------------------------------------------------------------------------


def _memberships(roles) -> dict[int, str]:
    return {m.team_id: m.role for m in roles.memberships}


def _visible_lead(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(
        leads_visible_to(request.user).select_related(
            "owner", "sales_team", "marketing_team", "agreement_version__agreement"
        ),
        pk=pk,
    )


# Sales rep: my queue ---------------------------------------------------------------------


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request.user)
    now = timezone.now()
    page = Paginator(queue_leads(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/queue.html",
        {
            "nav": "home",
            "page": page,
            "follow_ups": follow_ups_due(request.user, now=now, tz=roles.timezone()),
            "reasons": active_reasons(t.pk for t in roles.teams(Side.SALES)),
            "now": now,
            "is_sales": bool(roles.teams(Side.SALES)),
        },
    )


# Lead page -------------------------------------------------------------------------------


def _lead_context(request: HttpRequest, lead: Lead) -> dict:
    roles = roles_of(request.user)
    obligations = list(
        lead.obligations.select_related("commitment", "user", "breach").order_by(
            "starts_at", "kind", "attempt"
        )
    )
    now = timezone.now()
    events = (
        [
            {"at": e.occurred_at, "kind": "stage", "item": e}
            for e in lead.stage_events.select_related("user")
        ]
        + [{"at": a.occurred_at, "kind": "activity", "item": a} for a in lead.activities.all()]
        + [
            {"at": u.undone_at, "kind": "undo", "item": u}
            for u in lead.undone_activities.select_related("undone_by")
        ]
    )
    events.sort(key=lambda e: e["at"], reverse=True)
    newest = next((e["item"] for e in events if e["kind"] == "activity"), None)
    if newest is not None:
        newest.lead = lead
        for event in events:
            if event["item"] is newest:
                event["can_undo"] = services.can_undo_activity(
                    request.user, newest, now=now, memberships=_memberships(roles)
                )
    user_ids = {a["item"].user_id for a in events if a["kind"] == "activity"}
    if user_ids:
        from django.contrib.auth import get_user_model

        names = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids)}
        for event in events:
            if event["kind"] == "activity":
                event["user"] = names.get(event["item"].user_id)
    reasons = active_reasons([lead.sales_team_id])
    can_manage = rules.can_manage_lead(request.user, lead, _memberships(roles))
    return {
        "nav": "home",
        "lead": lead,
        "obligations": obligations,
        "timeline": events,
        "can_work": rules.can_work_lead(request.user, lead, _memberships(roles)),
        "can_manage": can_manage,
        "undecided": lead.handed_off_at and not (lead.accepted_at or lead.rejected_at),
        "can_hand_off": (not lead.handed_off_at or lead.stage in ("new", "recycled"))
        and rules.can_edit_lead(request.user, lead, _memberships(roles)),
        "activity_form": ActivityForm(),
        "reject_form": RejectForm(reasons=reasons),
        "stage_form": StageForm(),
        "reassign_form": ReassignForm(team=lead.sales_team, initial={"owner": lead.owner_id})
        if can_manage
        else None,
        "now": now,
    }


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    return render(request, "leads/lead_detail.html", _lead_context(request, lead))


def _closed_since(lead: Lead, since) -> list[Obligation]:
    """The clocks an action just met or breached."""
    return list(
        Obligation.objects.filter(lead=lead, closed_at__gte=since).filter(
            status__in=(Obligation.Status.MET, Obligation.Status.BREACHED)
        )
    )


def _after_action(
    request: HttpRequest,
    lead: Lead,
    *,
    message: str = "",
    errors: list[str] | None = None,
    since=None,
    undo: Activity | None = None,
) -> HttpResponse:
    """The queue row (htmx) or back to where the action came from, with a message."""
    now = timezone.now()
    if request.htmx and request.POST.get("row") == "queue":
        closed = _closed_since(lead, since) if since and not errors else []
        row = queue_lead(lead.pk, request.user)
        return render(
            request,
            "dashboard/_queue_row.html",
            {
                "lead": row,
                "reasons": active_reasons([lead.sales_team_id]),
                "message": message,
                "errors": errors or [],
                "just_closed": closed,
                "undo": undo,
                "now": now,
            },
            status=422 if errors else 200,
        )
    if errors:
        context = _lead_context(request, lead)
        context["errors"] = errors
        return render(request, "leads/lead_detail.html", context, status=400)
    messages.success(request, message)
    return _back(request, reverse("lead-detail", args=[lead.pk]))


def _closed_words(lead: Lead, since) -> str:
    words = [
        f"{o.get_kind_display()}{f' #{o.attempt}' if o.kind == 'follow_up' else ''}: {o.status}"
        for o in _closed_since(lead, since)
    ]
    return (" " + "; ".join(words) + ".") if words else ""


@login_required
@require_POST
def lead_log_activity(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if not rules.can_work_lead(request.user, lead):
        raise PermissionDenied("Only the lead's sales team logs touches on it.")
    form = ActivityForm(request.POST)
    if not form.is_valid():
        return _after_action(request, lead, errors=form_errors(form))
    now = timezone.now()
    try:
        activity = services.activity_log(
            lead=lead,
            kind=form.cleaned_data["kind"],
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
            occurred_at=now,
            now=now,
            user=request.user,
        )
    except ValidationError as exc:
        return _after_action(request, lead, errors=error_messages(exc))
    message = f"{activity.get_kind_display()} logged.{_closed_words(lead, now)}"
    return _after_action(request, lead, message=message, since=now, undo=activity)


@login_required
@require_POST
def lead_accept(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if not rules.can_work_lead(request.user, lead):
        raise PermissionDenied("Only the lead's sales team accepts it.")
    now = timezone.now()
    try:
        services.lead_accept(lead=lead, now=now, user=request.user)
    except ValidationError as exc:
        return _after_action(request, lead, errors=error_messages(exc))
    message = f"Lead accepted.{_closed_words(lead, now)}"
    return _after_action(request, lead, message=message, since=now)


@login_required
@require_POST
def lead_reject(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if not rules.can_work_lead(request.user, lead):
        raise PermissionDenied("Only the lead's sales team rejects it.")
    form = RejectForm(request.POST, reasons=active_reasons([lead.sales_team_id]))
    if not form.is_valid():
        return _after_action(request, lead, errors=form_errors(form))
    now = timezone.now()
    try:
        services.lead_reject(
            lead=lead, reason=form.cleaned_data["reason"], now=now, user=request.user
        )
    except ValidationError as exc:
        return _after_action(request, lead, errors=error_messages(exc))
    message = f"Lead rejected.{_closed_words(lead, now)}"
    return _after_action(request, lead, message=message, since=now)


@login_required
@require_POST
def lead_stage(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if not rules.can_edit_lead(request.user, lead):
        raise PermissionDenied("Only the lead's teams move it along the funnel.")
    form = StageForm(request.POST)
    if not form.is_valid():
        return _after_action(request, lead, errors=form_errors(form))
    access.require_stage_change(request.user, lead, form.cleaned_data["stage"])
    try:
        services.lead_set_stage(
            lead=lead,
            stage=form.cleaned_data["stage"],
            note=form.cleaned_data["note"],
            now=timezone.now(),
            user=request.user,
        )
    except ValidationError as exc:
        return _after_action(request, lead, errors=error_messages(exc))
    return _after_action(request, lead, message="Stage changed.")


@login_required
@require_POST
def lead_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if not rules.can_manage_lead(request.user, lead):
        raise PermissionDenied("Only a manager of the lead's sales team reassigns it.")
    form = ReassignForm(request.POST, team=lead.sales_team)
    if not form.is_valid():
        return _after_action(request, lead, errors=form_errors(form))
    owner = form.cleaned_data["owner"]
    services.lead_reassign(lead=lead, owner=owner, now=timezone.now(), user=request.user)
    who = owner.get_full_name() or owner.username if owner else "nobody"
    return _after_action(request, lead, message=f"{lead} is now assigned to {who}.")


@login_required
@require_POST
def activity_undo(request: HttpRequest, pk: int) -> HttpResponse:
    activity = get_object_or_404(
        Activity.objects.filter(lead__in=leads_visible_to(request.user)), pk=pk
    )
    lead = activity.lead
    try:
        services.activity_undo(
            activity=activity,
            user=request.user,
            now=timezone.now(),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        return _after_action(request, lead, errors=error_messages(exc))
    return _after_action(request, lead, message="Touch undone: its clocks run again.")


# Breaches --------------------------------------------------------------------------------


def _filter_teams(user):
    return access.teams_visible_to(user)


@login_required
def breach_list(request: HttpRequest) -> HttpResponse:
    form = BreachFilterForm(request.GET or None, teams=_filter_teams(request.user))
    breaches = breaches_visible_to(request.user).select_related("lead", "team", "user")
    if form.is_valid():
        data = form.cleaned_data
        if data["side"]:
            breaches = breaches.filter(side=data["side"])
        if data["team"]:
            breaches = breaches.filter(team=data["team"])
        if data["status"]:
            breaches = breaches.filter(status=data["status"])
    page = Paginator(breaches.order_by("-due_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "leads/breach_list.html",
        {
            "nav": "breaches",
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "filtered": any(request.GET.get(k) for k in ("side", "team", "status")),
        },
    )


def _visible_breach(request: HttpRequest, pk: int) -> Breach:
    return get_object_or_404(
        breaches_visible_to(request.user).select_related(
            "lead",
            "team",
            "user",
            "obligation__commitment",
            "obligation__agreement_version__agreement__marketing_team",
            "obligation__agreement_version__agreement__sales_team",
            "acknowledged_by",
            "disputed_by",
            "resolved_by",
        ),
        pk=pk,
    )


@login_required
def breach_detail(request: HttpRequest, pk: int, *, forms: dict | None = None, status=200):
    breach = _visible_breach(request, pk)
    obligation = breach.obligation
    context = {
        "nav": "breaches",
        "breach": breach,
        "sentence": commitment_sentence(obligation.commitment),
        "is_period": obligation.lead_id is None,
        "comments": breach.comments.select_related("author"),
        "ack_form": NoteForm(),
        "dispute_form": DisputeForm(),
        "resolve_form": ResolveForm(),
        "comment_form": CommentForm(),
        **breach_rights(request.user, breach),
        **(forms or {}),
    }
    return render(request, "leads/breach_detail.html", context, status=status)


def _breach_action(request: HttpRequest, pk: int, form_class, form_name: str, act, done: str):
    breach = _visible_breach(request, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return breach_detail(request, pk, forms={form_name: form}, status=400)
    try:
        act(breach, form.cleaned_data)
    except ValidationError as exc:
        errors = error_messages(exc)
        return breach_detail(request, pk, forms={form_name: form, "errors": errors}, status=400)
    messages.success(request, done)
    return _back(request, reverse("breach-detail", args=[pk]))


@login_required
@require_POST
def breach_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    def act(breach, data):
        services.breach_acknowledge(
            breach=breach, user=request.user, note=data["note"], now=timezone.now()
        )

    return _breach_action(request, pk, NoteForm, "ack_form", act, "Breach acknowledged.")


@login_required
@require_POST
def breach_dispute(request: HttpRequest, pk: int) -> HttpResponse:
    def act(breach, data):
        services.breach_dispute(
            breach=breach, user=request.user, reason=data["reason"], now=timezone.now()
        )

    return _breach_action(request, pk, DisputeForm, "dispute_form", act, "Breach disputed.")


@login_required
@require_POST
def breach_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    def act(breach, data):
        services.breach_resolve(
            breach=breach,
            user=request.user,
            resolution=data["resolution"],
            note=data["note"],
            now=timezone.now(),
        )

    return _breach_action(request, pk, ResolveForm, "resolve_form", act, "Breach resolved.")


@login_required
@require_POST
def breach_comment(request: HttpRequest, pk: int) -> HttpResponse:
    def act(breach, data):
        services.breach_comment(breach=breach, user=request.user, body=data["body"])

    return _breach_action(request, pk, CommentForm, "comment_form", act, "Comment added.")
