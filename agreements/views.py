"""Agreement pages: the terms in plain sentences, signatures, history, and the buttons that
draft, propose and sign a new version (agreements.services holds the rules)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import access, services
from agreements.access import manager_sides, require_agreement_manager
from agreements.forms import CommitmentForm, DraftForm, ProposeForm
from agreements.models import Agreement, AgreementVersion, Side, Signature
from agreements.wording import commitment_sentence


def _visible_agreements(user):
    return access.agreements_visible_to(user)


@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    agreements = _visible_agreements(request.user).prefetch_related(
        Prefetch(
            "versions",
            queryset=AgreementVersion.objects.filter(status=AgreementVersion.Status.ACTIVE),
            to_attr="active_versions",
        )
    )
    if agreements.count() == 1:
        return redirect("agreement-detail", pk=agreements.get().pk)
    return render(
        request, "agreements/agreement_list.html", {"nav": "agreements", "agreements": agreements}
    )


def _detail_context(request: HttpRequest, agreement: Agreement) -> dict:
    versions = list(
        agreement.versions.select_related("created_by").prefetch_related(
            "commitments", Prefetch("signatures", queryset=Signature.objects.select_related("user"))
        )
    )
    for version in versions:
        version.sentences = [
            {"commitment": c, "text": commitment_sentence(c)} for c in version.commitments.all()
        ]
        version.signed_sides = {s.side for s in version.signatures.all()}
    current = next((v for v in versions if v.status == AgreementVersion.Status.ACTIVE), None)
    pending = next(
        (
            v
            for v in versions
            if v.status
            in (
                AgreementVersion.Status.DRAFT,
                AgreementVersion.Status.PROPOSED,
                AgreementVersion.Status.SCHEDULED,
            )
        ),
        None,
    )
    sides = manager_sides(request.user, agreement)
    return {
        "nav": "agreements",
        "agreement": agreement,
        "versions": versions,
        "current": current,
        "pending": pending,
        "manager_sides": sides,
        "can_sign": bool(pending and pending.status == "proposed" and sides - pending.signed_sides),
        "draft_form": DraftForm(),
        "propose_form": ProposeForm(),
        "commitment_form": CommitmentForm(),
        "side_names": dict(Side.choices),
    }


@login_required
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = get_object_or_404(_visible_agreements(request.user), pk=pk)
    return render(request, "agreements/agreement_detail.html", _detail_context(request, agreement))


def _managed_agreement(request: HttpRequest, pk: int) -> Agreement:
    agreement = get_object_or_404(_visible_agreements(request.user), pk=pk)
    require_agreement_manager(request.user, agreement)
    return agreement


def _refused(request, agreement, exc: ValidationError, **forms) -> HttpResponse:
    context = _detail_context(request, agreement)
    context.update(forms)
    context["errors"] = exc.messages
    return render(request, "agreements/agreement_detail.html", context, status=400)


def _version(agreement: Agreement, number: int) -> AgreementVersion:
    return get_object_or_404(agreement.versions, number=number)


@login_required
@require_POST
def version_draft(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    form = DraftForm(request.POST)
    if not form.is_valid():
        return _refused(request, agreement, ValidationError("Say what changes."), draft_form=form)
    try:
        version = services.agreement_version_draft(
            agreement=agreement, user=request.user, summary=form.cleaned_data["summary"]
        )
    except ValidationError as exc:
        return _refused(request, agreement, exc, draft_form=form)
    messages.success(request, f"Version {version.number} drafted from the current terms.")
    return redirect("agreement-detail", pk=agreement.pk)


@login_required
@require_POST
def commitment_add(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    form = CommitmentForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, agreement, ValidationError("Check the commitment."), commitment_form=form
        )
    try:
        commitment = services.commitment_create(version=version, **form.commitment_fields())
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        return _refused(request, agreement, exc, commitment_form=form)
    messages.success(request, f"Added: {commitment_sentence(commitment)}")
    return redirect("agreement-detail", pk=agreement.pk)


@login_required
@require_POST
def commitment_remove(request: HttpRequest, pk: int, number: int, commitment: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    target = get_object_or_404(version.commitments, pk=commitment)
    try:
        services.commitment_delete(commitment=target)
    except ValidationError as exc:
        return _refused(request, agreement, exc)
    messages.success(request, f"Removed from version {number}: {commitment_sentence(target)}")
    return redirect("agreement-detail", pk=agreement.pk)


@login_required
@require_POST
def version_propose(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    form = ProposeForm(request.POST)
    if not form.is_valid():
        return _refused(request, agreement, ValidationError("Check the date."), propose_form=form)
    day = form.cleaned_data["effective_from"]
    tz = ZoneInfo(agreement.calendar.timezone)
    try:
        services.agreement_version_propose(
            version=version,
            now=timezone.now(),
            user=request.user,
            effective_from=datetime.combine(day, time(), tzinfo=tz) if day else None,
            effective_reason=form.cleaned_data["effective_reason"],
            applies_to_running_periods=form.cleaned_data["applies_to_running_periods"],
        )
    except ValidationError as exc:
        return _refused(request, agreement, exc, propose_form=form)
    messages.success(request, f"Version {number} proposed: a manager of each side signs it next.")
    return redirect("agreement-detail", pk=agreement.pk)


@login_required
@require_POST
def version_sign(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    try:
        signature = services.agreement_version_sign(
            version=version, user=request.user, now=timezone.now()
        )
    except ValidationError as exc:
        return _refused(request, agreement, exc)
    version.refresh_from_db()
    side = dict(Side.choices)[signature.side]
    if version.status == AgreementVersion.Status.ACTIVE:
        messages.success(request, f"Signed for {side}. Version {number} is now in force.")
    elif version.status == AgreementVersion.Status.SCHEDULED:
        messages.success(
            request,
            f"Signed for {side}. Version {number} comes into force on "
            f"{timezone.localtime(version.effective_at):%d %b %Y %H:%M}.",
        )
    else:
        messages.success(request, f"Signed for {side}. Waiting for the other side's manager.")
    return redirect("agreement-detail", pk=agreement.pk)
