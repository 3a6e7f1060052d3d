"""Pages of an agreement's shared goals and joint reviews (docs/agreements.md). Thin: the
figures come from reports.goals / reports.review_pack, the writes from agreements.goals /
agreements.reviews, who may do what from agreements.access."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agreements import access, goals, reviews
from agreements.models import ActionItem, Agreement, Goal, Review
from agreements.review_forms import (
    ActionItemForm,
    CheckInForm,
    GoalForm,
    ReviewForm,
    ReviewNotesForm,
)
from reports.goals import goal_progress
from reports.metrics import agreement_tz
from reports.review_pack import review_agenda


def _agreement(request: HttpRequest, pk: int) -> Agreement:
    return get_object_or_404(access.agreements_with_data_visible_to(request.user), pk=pk)


def _errors(exc: ValidationError) -> list[str]:
    return exc.messages


# Shared goals ---------------------------------------------------------------------------


def _goals_page(request, agreement, form=None, errors=(), status=200) -> HttpResponse:
    now = timezone.now()
    progress = [goal_progress(g, now) for g in agreement.goals.select_related("owner")]
    can_manage = access.can_manage_agreement(request.user, agreement)
    if form is None and can_manage:
        today = now.astimezone(agreement_tz(agreement)).date()
        form = GoalForm(agreement=agreement, initial={"starts_on": today.replace(day=1)})
    return render(
        request,
        "agreements/goals.html",
        {
            "nav": "agreements",
            "agreement": agreement,
            "progress": progress,
            "form": form if can_manage else None,
            "errors": errors,
            "charts": {f"chart-goal-{p.goal.pk}": p.chart() for p in progress},
        },
        status=status,
    )


@login_required
def goal_list(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement(request, pk)
    if request.method != "POST":
        return _goals_page(request, agreement)
    form = GoalForm(request.POST, agreement=agreement)
    if not form.is_valid():
        return _goals_page(request, agreement, form=form, status=400)
    try:
        goal = goals.goal_create(agreement=agreement, user=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _goals_page(request, agreement, form=form, errors=_errors(exc), status=400)
    messages.success(request, f"Goal “{goal.name}” set.")
    return redirect("goal-detail", pk=agreement.pk, goal=goal.pk)


def _goal_page(request, agreement, goal, form=None, errors=(), status=200) -> HttpResponse:
    progress = goal_progress(goal, timezone.now())
    return render(
        request,
        "agreements/goal_detail.html",
        {
            "nav": "agreements",
            "agreement": agreement,
            "goal": goal,
            "p": progress,
            "check_ins": goal.check_ins.select_related("author"),
            "form": form or CheckInForm(),
            "can_check_in": access.can_comment_on_terms(request.user, agreement),
            "errors": errors,
            "charts": {"chart-goal": progress.chart()},
        },
        status=status,
    )


@login_required
def goal_detail(request: HttpRequest, pk: int, goal: int) -> HttpResponse:
    agreement = _agreement(request, pk)
    goal_obj = get_object_or_404(Goal.objects.select_related("owner"), agreement=agreement, pk=goal)
    goal_obj.agreement = agreement
    return _goal_page(request, agreement, goal_obj)


@login_required
@require_POST
def goal_check_in(request: HttpRequest, pk: int, goal: int) -> HttpResponse:
    agreement = _agreement(request, pk)
    goal_obj = get_object_or_404(Goal, agreement=agreement, pk=goal)
    goal_obj.agreement = agreement
    form = CheckInForm(request.POST)
    if not form.is_valid():
        return _goal_page(request, agreement, goal_obj, form=form, status=400)
    try:
        goals.goal_check_in(
            goal=goal_obj, user=request.user, now=timezone.now(), **form.cleaned_data
        )
    except ValidationError as exc:
        return _goal_page(request, agreement, goal_obj, form=form, errors=_errors(exc), status=400)
    messages.success(request, "Check-in recorded.")
    return redirect("goal-detail", pk=agreement.pk, goal=goal_obj.pk)


# Joint reviews --------------------------------------------------------------------------


@login_required
def review_list(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _agreement(request, pk)
    can_hold = access.can_manage_agreement(request.user, agreement)
    form, status, errors = ReviewForm(), 200, []
    if request.method == "POST":
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                review = reviews.review_create(
                    agreement=agreement, user=request.user, now=timezone.now(), **form.cleaned_data
                )
            except ValidationError as exc:
                errors, status = _errors(exc), 400
            else:
                messages.success(request, "Review scheduled.")
                return redirect("review-detail", pk=review.pk)
        else:
            status = 400
    return render(
        request,
        "agreements/reviews.html",
        {
            "nav": "agreements",
            "agreement": agreement,
            "reviews": agreement.reviews.prefetch_related("action_items"),
            "form": form if can_hold else None,
            "errors": errors,
        },
        status=status,
    )


def _review(request: HttpRequest, pk: int) -> Review:
    review = get_object_or_404(
        access.reviews_visible_to(request.user).select_related(
            "agreement__calendar", "agreement__marketing_team", "agreement__sales_team"
        ),
        pk=pk,
    )
    return review


def _review_context(request: HttpRequest, review: Review, **extra) -> dict:
    agreement = review.agreement
    agenda = review_agenda(agreement, month=review.month, now=timezone.now())
    can_hold = access.can_manage_agreement(request.user, agreement)
    items = list(review.action_items.select_related("owner", "done_by"))
    for item in items:
        item.review = review
        item.can_finish = item.done_at is None and access.can_finish_action_item(request.user, item)
    return {
        "nav": "agreements",
        "agreement": agreement,
        "review": review,
        "agenda": agenda,
        "items": items,
        "can_hold": can_hold,
        "notes_form": ReviewNotesForm(initial={"notes": review.notes}),
        "item_form": ActionItemForm(agreement=agreement),
        **extra,
    }


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    return render(request, "agreements/review_detail.html", _review_context(request, review))


@login_required
def review_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The review's record on one printable page (notes, action items, agenda)."""
    review = _review(request, pk)
    return render(request, "agreements/review_print.html", _review_context(request, review))


def _refused(request, review, status=400, **extra) -> HttpResponse:
    return render(
        request,
        "agreements/review_detail.html",
        _review_context(request, review, **extra),
        status=status,
    )


@login_required
@require_POST
def review_notes(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    form = ReviewNotesForm(request.POST)
    if not form.is_valid():
        return _refused(request, review, notes_form=form)
    reviews.review_notes_set(review=review, user=request.user, notes=form.cleaned_data["notes"])
    messages.success(request, "Notes saved.")
    return redirect("review-detail", pk=review.pk)


@login_required
@require_POST
def action_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    form = ActionItemForm(request.POST, agreement=review.agreement)
    if not form.is_valid():
        return _refused(request, review, item_form=form)
    try:
        reviews.action_item_add(review=review, user=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _refused(request, review, item_form=form, errors=_errors(exc))
    messages.success(request, "Action item added.")
    return redirect("review-detail", pk=review.pk)


@login_required
@require_POST
def review_send(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    count = reviews.review_send(review=review, user=request.user, now=timezone.now())
    messages.success(request, f"The record is on its way to both teams ({count} emails).")
    return redirect("review-detail", pk=review.pk)


@login_required
@require_POST
def action_item_done(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        ActionItem.objects.select_related("review__agreement").filter(
            review__agreement__in=access.agreements_visible_to(request.user)
        ),
        pk=pk,
    )
    reviews.action_item_done(item=item, user=request.user, now=timezone.now())
    messages.success(request, f"Done: {item.text}")
    after = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(after, allowed_hosts={request.get_host()}):
        after = "home"
    return redirect(after)
