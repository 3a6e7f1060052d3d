"""Lead and breach pages: thin views over leads.services (writes) and selectors (reads)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

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
    BulkAcknowledgeForm,
    CommentForm,
    ContestDecisionForm,
    ContestForm,
    DisputeForm,
    NoteForm,
    ReassignForm,
    RejectForm,
    ResolveForm,
    StageForm,
)
from leads.models import Activity, Breach, Lead, Obligation
from leads.selectors import (
    breach_promises,
    breach_reps,
    breach_rights,
    breach_status_counts,
    breaches_filtered,
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
        "contest": _contest_context(request, lead, _memberships(roles)),
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


BREACH_FILTERS = ("side", "team", "rep", "promise", "status", "due_from", "due_to", "mine")


def _midnight(day, tz: str):
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def _breach_filters(request: HttpRequest, form: BreachFilterForm, tz: str) -> dict:
    """The selector's keywords from a valid filter form (none from an invalid one)."""
    if not form.is_bound or not form.is_valid():
        return {}
    data = form.cleaned_data
    return {
        "side": data["side"],
        "team": data["team"],
        "status": data["status"],
        "rep": data["rep"],
        "clause": data["promise"] or None,
        "due_from": _midnight(data["due_from"], tz) if data["due_from"] else None,
        "due_before": _midnight(data["due_to"] + timedelta(days=1), tz) if data["due_to"] else None,
        "mine": access.breaches_mine(request.user) if data["mine"] else None,
    }


def _link(request: HttpRequest, **changes) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    for key, value in changes.items():
        query.pop(key, None)
        if value:
            query[key] = value
    return f"?{query.urlencode()}"


@login_required
def breach_list(request: HttpRequest) -> HttpResponse:
    """The breach inbox: filters with a count per status and for "mine", bulk acknowledge
    of the rows the user may answer. A fixed number of queries whatever the breaches."""
    user = request.user
    tz = roles_of(user).timezone()
    form = BreachFilterForm(
        request.GET or None,
        teams=_filter_teams(user),
        reps=breach_reps(user),
        promises=breach_promises(access.agreements_with_data_visible_to(user)),
    )
    visible = breaches_visible_to(user)
    filters = _breach_filters(request, form, tz)
    breaches = breaches_filtered(visible, **filters)
    counts = breach_status_counts(breaches_filtered(visible, **{**filters, "status": ""}))
    mine = breaches_filtered(visible, **{**filters, "mine": access.breaches_mine(user)})
    chosen = filters.get("status", "")
    tabs = [
        {
            "label": "All",
            "count": sum(counts.values()),
            "url": _link(request, status=""),
            "current": not chosen,
        }
    ] + [
        {
            "label": label,
            "count": counts[value],
            "url": _link(request, status=value),
            "current": chosen == value,
        }
        for value, label in Breach.Status.choices
    ]
    rows = breaches.select_related("lead", "team", "user", "obligation__commitment").order_by(
        "-due_at", "-id"
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    memberships = access.memberships_of(user)
    for breach in page.object_list:
        breach.can_acknowledge = breach.status == Breach.Status.OPEN and (
            access.can_answer_breach(user, breach, memberships)
        )
    return render(
        request,
        "leads/breach_list.html",
        {
            "nav": "breaches",
            "tab": "breaches",
            "form": form,
            "page": page,
            "tabs": tabs,
            "mine_count": mine.count(),
            "mine_url": _link(request, mine="on"),
            "open_contests": access.contests_to_decide(user).count(),
            "query": _link(request)[1:],
            "filtered": any(request.GET.get(k) for k in BREACH_FILTERS),
            "bulk_form": BulkAcknowledgeForm(),
            "can_bulk": any(b.can_acknowledge for b in page.object_list),
        },
    )


@login_required
@require_POST
def breach_bulk_acknowledge(request: HttpRequest) -> HttpResponse:
    form = BulkAcknowledgeForm(request.POST)
    if not form.is_valid():
        for error in form_errors(form):
            messages.error(request, error)
        return _back(request, reverse("breach-list"))
    try:
        result = services.breach_acknowledge_many(
            breach_ids=form.cleaned_data["breaches"],
            user=request.user,
            note=form.cleaned_data["note"],
            now=timezone.now(),
        )
    except ValidationError as exc:
        for error in error_messages(exc):
            messages.error(request, error)
        return _back(request, reverse("breach-list"))
    done = len(result.acknowledged)
    if done:
        messages.success(request, f"{done} breach{'es' if done != 1 else ''} acknowledged.")
    if result.refused:
        why = "; ".join(f"#{pk}: {reason}" for pk, reason in result.refused.items())
        messages.warning(request, f"{len(result.refused)} not acknowledged — {why}")
    return _back(request, reverse("breach-list"))


# Contested rejections ----------------------------------------------------------------------


def _contest_context(request: HttpRequest, lead: Lead, memberships) -> dict:
    """The lead page's contest part: its contests (both sides see them and their decision),
    and the form to contest or decide when the user may."""
    contests = list(
        access.contests_visible_to(request.user)
        .filter(lead=lead)
        .select_related("contested_by", "decided_by", "rejection")
    )
    latest = contests[0] if contests else None
    undecided = latest if latest is not None and latest.is_open else None
    contestable = lead.stage == "rejected" and not (
        latest is not None and latest.rejection.occurred_at == lead.rejected_at
    )
    can_contest = contestable and access.can_contest_rejection(request.user, lead, memberships)
    can_decide = undecided is not None and access.can_decide_contest(
        request.user, lead, memberships
    )
    return {
        "contests": contests,
        "undecided": undecided,
        "form": ContestForm(auto_id="contest_%s") if can_contest else None,
        "decision_form": ContestDecisionForm(auto_id="contest_%s") if can_decide else None,
    }


@login_required
@require_POST
def breach_contest_open(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    form = ContestForm(request.POST)
    if not form.is_valid():
        return _after_action(request, lead, errors=form_errors(form))
    try:
        services.rejection_contest_open(
            lead=lead, user=request.user, reason=form.cleaned_data["reason"], now=timezone.now()
        )
    except ValidationError as exc:
        return _after_action(request, lead, errors=error_messages(exc))
    return _after_action(request, lead, message="Rejection contested: the sales managers decide.")


@login_required
@require_POST
def breach_contest_decide(request: HttpRequest, pk: int) -> HttpResponse:
    contest = get_object_or_404(access.contests_visible_to(request.user), pk=pk)
    lead = _visible_lead(request, contest.lead_id)
    form = ContestDecisionForm(request.POST)
    if not form.is_valid():
        return _after_action(request, lead, errors=form_errors(form))
    try:
        contest = services.rejection_contest_decide(
            contest=contest,
            user=request.user,
            decision=form.cleaned_data["decision"],
            note=form.cleaned_data["note"],
            now=timezone.now(),
        )
    except ValidationError as exc:
        return _after_action(request, lead, errors=error_messages(exc))
    if contest.decision == contest.Decision.RETURNED:
        message = "Lead returned to the rep: its clocks run again."
    else:
        message = "Rejection upheld."
    return _after_action(request, lead, message=message)


@login_required
def breach_contests(request: HttpRequest) -> HttpResponse:
    """Contested rejections: those to decide (sales managers) first, then every contest of
    the leads the user sees, newest first."""
    to_decide = access.contests_to_decide(request.user)
    contests = (
        access.contests_visible_to(request.user)
        .select_related("lead", "contested_by", "decided_by", "rejection")
        .order_by("-contested_at", "-id")
    )
    page = Paginator(contests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/breach_contests.html",
        {
            "nav": "breaches",
            "tab": "contests",
            "page": page,
            "open_contests": to_decide.count(),
            "to_decide": set(to_decide.values_list("pk", flat=True)),
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
