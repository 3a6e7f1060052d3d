"""Agreement pages: the terms in plain sentences, signatures, history, and the buttons that
draft, propose and sign a new version (agreements.services holds the rules)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_POST

from agreements import access, services
from agreements.access import manager_sides, require_agreement_manager
from agreements.diff import changes_in_words
from agreements.forms import (
    CommitmentForm,
    DraftForm,
    ProposeForm,
    ReopenForm,
    TermCommentForm,
)
from agreements.matching import shadowed
from agreements.models import Agreement, AgreementVersion, Commitment, Side, Signature
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
        kind_sizes: dict[str, int] = {}
        for sentence in version.sentences:
            kind = sentence["commitment"].kind
            sentence["place"] = kind_sizes.get(kind, 0)
            kind_sizes[kind] = sentence["place"] + 1
        never = {c.pk for c in shadowed(s["commitment"] for s in version.sentences)}
        for sentence in version.sentences:
            sentence["of"] = kind_sizes[sentence["commitment"].kind]
            sentence["never"] = sentence["commitment"].pk in never
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
    changes = []
    if pending is not None:
        old = list(current.commitments.all()) if current else []
        comments: dict = {}
        for comment in pending.term_comments.select_related("author"):
            comments.setdefault(comment.clause, []).append(comment)
        changes = [
            {"change": change, "comments": comments.get(change.clause, [])}
            for change in changes_in_words(old, list(pending.commitments.all()))
        ]
    return {
        "changes": changes,
        "can_comment": pending is not None
        and pending.status in ("draft", "proposed")
        and access.can_comment_on_terms(request.user, agreement),
        "comment_form": TermCommentForm(),
        "reopen_form": ReopenForm(),
        "history": _history(agreement, versions),
        "nav": "agreements",
        "agreement": agreement,
        "versions": versions,
        "current": current,
        "pending": pending,
        "manager_sides": sides,
        "can_sign": bool(pending and pending.status == "proposed" and sides - pending.signed_sides),
        "draft_form": DraftForm(),
        "propose_form": ProposeForm(),
        "commitment_form": CommitmentForm(prefix="new"),
        "side_names": dict(Side.choices),
    }


def _history(agreement: Agreement, versions: list[AgreementVersion]) -> list:
    """Every step of the agreement's terms from the audit log: drafts, commitments added,
    changed, moved and removed, comments, proposals, signatures, reopenings, activations."""
    from audit.models import AuditEvent

    version_ids = [v.pk for v in versions]
    commitment_ids = [str(c.pk) for v in versions for c in v.commitments.all()]
    return list(
        AuditEvent.objects.filter(
            Q(object_type="agreements.agreementversion", object_id__in=map(str, version_ids))
            | Q(object_type="agreements.commitment", object_id__in=commitment_ids)
            | Q(object_type="agreements.commitment", changes__version__in=version_ids)
        ).order_by("-at", "-id")[:200]
    )


def _edit_forms(context: dict, bound: CommitmentForm | None = None, pk: int | None = None) -> None:
    """An edit form per commitment of the draft (the bound one, with its errors, for `pk`)."""
    pending = context["pending"]
    if not (
        pending and pending.status == AgreementVersion.Status.DRAFT and context["manager_sides"]
    ):
        return
    for sentence in pending.sentences:
        commitment = sentence["commitment"]
        if bound is not None and commitment.pk == pk:
            sentence["form"], sentence["open"] = bound, True
        else:
            sentence["form"] = CommitmentForm.for_commitment(commitment, prefix=f"c{commitment.pk}")


@login_required
def agreement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agreement = get_object_or_404(_visible_agreements(request.user), pk=pk)
    context = _detail_context(request, agreement)
    _edit_forms(context)
    return render(request, "agreements/agreement_detail.html", context)


def _managed_agreement(request: HttpRequest, pk: int) -> Agreement:
    agreement = get_object_or_404(_visible_agreements(request.user), pk=pk)
    require_agreement_manager(request.user, agreement)
    return agreement


def _refused(
    request, agreement, exc: ValidationError, *, edited: tuple | None = None, **forms
) -> HttpResponse:
    context = _detail_context(request, agreement)
    context.update(forms)
    _edit_forms(context, *(edited or ()))
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


def _field_errors(form: CommitmentForm, exc: ValidationError) -> None:
    """Put the service's errors next to the fields they are about."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        if field == "applies_to":
            field = "tiers"
        form.add_error(field if field in form.fields else None, errors)


FIX_BELOW = ValidationError("The commitment was not saved: see the fields marked below.")


@login_required
@require_POST
def commitment_add(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    form = CommitmentForm(request.POST, prefix=_prefix(request, "new"))
    if form.is_valid():
        try:
            commitment = services.commitment_create(version=version, **form.commitment_fields())
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            messages.success(request, f"Added: {commitment_sentence(commitment)}")
            return redirect("agreement-detail", pk=agreement.pk)
    return _refused(request, agreement, FIX_BELOW, commitment_form=form, open_new=True)


def _prefix(request: HttpRequest, default: str) -> str | None:
    """The API-style post (`kind=…` without a prefix) is read as well as the page's form."""
    return default if any(key.startswith(f"{default}-") for key in request.POST) else None


def _draft_commitment(request: HttpRequest, pk: int, number: int, commitment: int):
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    return agreement, get_object_or_404(version.commitments, pk=commitment)


@login_required
@require_POST
def commitment_edit(request: HttpRequest, pk: int, number: int, commitment: int) -> HttpResponse:
    agreement, target = _draft_commitment(request, pk, number, commitment)
    prefix = _prefix(request, f"c{target.pk}")
    form = CommitmentForm(request.POST, prefix=prefix, kind=target.kind)
    if form.is_valid():
        try:
            services.commitment_update(commitment=target, **form.commitment_fields())
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            messages.success(request, f"Changed: {commitment_sentence(target)}")
            return redirect("agreement-detail", pk=agreement.pk)
    return _refused(request, agreement, FIX_BELOW, edited=(form, target.pk))


@login_required
@require_POST
def commitment_move(request: HttpRequest, pk: int, number: int, commitment: int) -> HttpResponse:
    agreement, target = _draft_commitment(request, pk, number, commitment)
    by = -1 if request.POST.get("direction") == "up" else 1
    try:
        services.commitment_move(commitment=target, by=by)
    except ValidationError as exc:
        return _refused(request, agreement, exc)
    return redirect(reverse("agreement-detail", args=[agreement.pk]) + "#pending-version")


@login_required
@require_POST
def commitment_preview(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The sentence the form's commitment would read as, for the editor's live preview."""
    agreement = _managed_agreement(request, pk)
    _version(agreement, number)
    prefix = request.GET.get("prefix", "new")
    kind = None
    if prefix.startswith("c") and prefix[1:].isdigit():
        edited = get_object_or_404(Commitment, pk=int(prefix[1:]), version__agreement=agreement)
        kind = edited.kind
    form = CommitmentForm(request.POST, prefix=prefix, kind=kind)
    if not form.is_valid():
        missing = [
            str(form.fields[name].label or name.replace("_", " ")).lower()
            for name in form.errors
            if name in form.fields
        ]
        text = "Fill in: " + ", ".join(missing) + "." if missing else "Check the fields."
        return HttpResponse(escape(text))
    fields = form.commitment_fields()
    fields.setdefault("kind", kind)
    return HttpResponse(escape(commitment_sentence(Commitment(**fields))))


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
            f"{timezone.localtime(version.effective_at):%d %b %Y %H:%M %Z}.",
        )
    else:
        messages.success(request, f"Signed for {side}. Waiting for the other side's manager.")
    return redirect("agreement-detail", pk=agreement.pk)


@login_required
@require_POST
def term_comment(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = get_object_or_404(_visible_agreements(request.user), pk=pk)
    version = _version(agreement, number)
    form = TermCommentForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, agreement, ValidationError("Write the comment (up to 2,000 characters).")
        )
    try:
        services.term_comment_add(
            version=version,
            clause=form.cleaned_data["clause"],
            user=request.user,
            body=form.cleaned_data["body"],
            now=timezone.now(),
        )
    except ValidationError as exc:
        return _refused(request, agreement, exc)
    messages.success(request, "Comment added.")
    return redirect(reverse("agreement-detail", args=[agreement.pk]) + "#pending-version")


@login_required
@require_POST
def version_reopen(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    form = ReopenForm(request.POST)
    form.is_valid()
    try:
        services.agreement_version_reopen(
            version=version,
            user=request.user,
            now=timezone.now(),
            reason=form.cleaned_data.get("reason", ""),
        )
    except ValidationError as exc:
        return _refused(request, agreement, exc)
    messages.success(
        request,
        f"Version {number} is a draft again; its signatures are void until both sign again.",
    )
    return redirect("agreement-detail", pk=agreement.pk)
