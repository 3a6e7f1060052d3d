"""The lead list (search, filters, sort, bulk actions, CSV export), the lead form and the
hand-off button: thin views over leads.selectors (reads) and leads.services (writes)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.views.decorators.http import require_POST

from agreements import access
from leads import rules, services
from leads.forms import BulkForm, LeadFilterForm, LeadForm
from leads.selectors import assignable_people, lead_list, leads_visible_to, people_on_teams
from slahub.csv_export import csv_response

PAGE_SIZE = 25
FILTER_KEYS = ("q", "stage", "owner", "team", "tier", "source", "campaign", "state")


def lead_filter_form(request: HttpRequest) -> LeadFilterForm:
    teams = access.teams_visible_to(request.user).order_by("name")
    people = people_on_teams(access.visible_team_ids(request.user))
    return LeadFilterForm(request.GET, teams=teams, people=people)


def _query(request: HttpRequest) -> str:
    """The list's filters and sort as a query string (without the page)."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def lead_list_page(request: HttpRequest) -> HttpResponse:
    form = lead_filter_form(request)
    leads = lead_list(request.user, now=timezone.now(), filters=form.filters())
    leads = leads.select_related("owner", "sales_team", "marketing_team")
    page = Paginator(leads, PAGE_SIZE).get_page(request.GET.get("page"))
    people = list(assignable_people(request.user))
    return render(
        request,
        "leads/lead_list.html",
        {
            "nav": "leads",
            "form": form,
            "page": page,
            "query": _query(request),
            "filtered": any(request.GET.get(k) for k in FILTER_KEYS),
            "bulk_form": BulkForm(people=people),
            "can_assign": bool(people),
            "now": timezone.now(),
        },
    )


EXPORT_COLUMNS = [
    ("id", "id"),
    ("source_system", "source system"),
    ("external_id", "external id"),
    ("name", "name"),
    ("company", "company"),
    ("email", "email"),
    ("title", "title"),
    ("phone", "phone"),
    ("country", "country"),
    ("tier", "tier"),
    ("score", "score"),
    ("lead_source", "lead source"),
    ("campaign", "campaign"),
    ("stage", "stage"),
    ("owner__email", "owner"),
    ("sales_team__name", "sales team"),
    ("marketing_team__name", "marketing team"),
    ("handed_off_at", "handed off at"),
    ("accepted_at", "accepted at"),
    ("rejected_at", "rejected at"),
    ("next_due", "next clock due"),
]


def lead_export_csv(request: HttpRequest) -> HttpResponse:
    """The filtered list (every page) of `request.user`'s leads as CSV (the page's session
    or the API's token), read in chunks while it is sent."""
    form = lead_filter_form(request)
    leads = lead_list(request.user, now=timezone.now(), filters=form.filters())
    rows = leads.values_list(*(field for field, _ in EXPORT_COLUMNS)).iterator(chunk_size=2000)
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    return csv_response(f"leads-{stamp}.csv", [label for _, label in EXPORT_COLUMNS], rows)


@login_required
def lead_export(request: HttpRequest) -> HttpResponse:
    return lead_export_csv(request)


def _back_to_list(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    return redirect(f"{reverse('lead-list')}?{query}" if query else reverse("lead-list"))


@login_required
@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    """Assign or hand off the ticked leads; each lead is checked and reported on its own."""
    form = BulkForm(request.POST, people=assignable_people(request.user))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back_to_list(request)
    data, now = form.cleaned_data, timezone.now()
    if data["action"] == "assign":
        results = services.leads_bulk_reassign(
            user=request.user, lead_ids=data["leads"], owner=data["owner"], now=now
        )
        owner = data["owner"]
        verb = f"assigned to {owner.get_full_name() or owner.username}" if owner else "unassigned"
    else:
        results = services.leads_bulk_hand_off(user=request.user, lead_ids=data["leads"], now=now)
        verb = "handed off to sales"
    done = [r for r in results if r.done]
    if done:
        messages.success(request, f"{len(done)} of {len(results)} leads {verb}.")
    for result in results:
        if not result.done:
            messages.error(request, f"{result.label}: {result.message}")
    return _back_to_list(request)


@login_required
def lead_new(request: HttpRequest) -> HttpResponse:
    teams = access.teams_visible_to(request.user).order_by("name")
    people = people_on_teams(teams.filter(side="sales").values("pk"))
    form = LeadForm(request.POST or None, teams=teams, people=people)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        hand_off = data.pop("hand_off")
        data["external_id"] = data["external_id"] or f"web-{get_random_string(12).lower()}"
        try:
            lead = services.lead_create_as(
                user=request.user, now=timezone.now(), hand_off=hand_off, **data
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = field if field in form.fields else None
                if field == "__all__" and "External" in " ".join(errors):
                    target = "external_id"
                for error in errors:
                    form.add_error(target, error)
        else:
            messages.success(
                request, f"{lead} created{' and handed off to sales' if hand_off else ''}."
            )
            return redirect("lead-detail", pk=lead.pk)
    return render(
        request,
        "leads/lead_form.html",
        {"nav": "leads", "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def lead_hand_off(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(leads_visible_to(request.user), pk=pk)
    if not rules.can_edit_lead(request.user, lead):
        raise PermissionDenied("Only the lead's teams hand it off.")
    try:
        opened = services.lead_hand_off(lead=lead, now=timezone.now(), user=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        clocks = f" {len(opened)} clock{'s' if len(opened) != 1 else ''} started." if opened else ""
        messages.success(request, f"Handed off to sales.{clocks}")
    return redirect("lead-detail", pk=lead.pk)
