"""The quota calculator page of a draft: the assumptions (rates prefilled from the funnel's
history), the reverse funnel worked out, and the button that puts the number into the
draft's lead-volume commitment (agreements.services.lead_volume_from_quota)."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements import services
from agreements.forms import QuotaForm
from agreements.models import Agreement, AgreementVersion
from agreements.quota_calculator import quota_errors, reverse_funnel
from agreements.views import _managed_agreement, _version
from reports.selectors import quota_history

RATES = (
    ("mql_to_sal_pct", "MQL → SAL"),
    ("sal_to_sql_pct", "SAL → SQL"),
    ("sql_to_won_pct", "SQL → won"),
)


def _prefill(agreement: Agreement, version: AgreementVersion, now) -> tuple[dict, str]:
    """The form's starting values and the sentence saying where the rates come from."""
    first, last, rates = quota_history(agreement, now=now)
    initial: dict = {}
    for name, _ in RATES:
        value = getattr(rates, name)
        if value:  # none, or 0%, gives no rate to divide by: the manager enters one
            initial[name] = Decimal(str(value))
    volume = next(
        (c for c in version.commitments.all() if c.kind == "lead_volume" and c.stage), None
    )
    if volume is not None:
        initial["stage"] = volume.stage
    span = f"{first:%-d %b %Y} – {last:%-d %b %Y}"
    if rates.mqls:
        source = (
            f"Rates prefilled from the closed-loop funnel of the leads that entered it {span} "
            f"({rates.mqls} MQLs, {rates.sals} SALs, {rates.sqls} SQLs, {rates.won} won), "
            f"followed up to {now.astimezone(ZoneInfo(agreement.calendar.timezone)):%-d %b %Y}."
        )
    else:
        source = f"No lead entered the funnel {span}: enter the rates."
    return initial, source


def _edited(form: QuotaForm, initial: dict) -> str:
    changed = [label for name, label in RATES if form.cleaned_data.get(name) != initial.get(name)]
    return f" Edited here: {', '.join(changed)}." if changed else ""


def _page(request, agreement, version, *, form, initial, source, errors=(), status=200):
    result = None
    if form.is_bound and form.is_valid() and not quota_errors(form.inputs()):
        result = reverse_funnel(form.inputs())
    stage = form.cleaned_data.get("stage") if form.is_bound and form.is_valid() else None
    return render(
        request,
        "agreements/quota_calculator.html",
        {
            "nav": "agreements",
            "agreement": agreement,
            "version": version,
            "form": form,
            "result": result,
            "stage": stage or initial.get("stage", "sql"),
            "target": result.per_month(stage) if result and stage else None,
            "source": source,
            "is_draft": version.status == AgreementVersion.Status.DRAFT,
            "errors": list(errors),
        },
        status=status,
    )


@login_required
@require_GET
def quota_calculator(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    if version.status != AgreementVersion.Status.DRAFT:
        return _page(
            request,
            agreement,
            version,
            form=QuotaForm(),
            initial={},
            source="",
            errors=[
                f"Version {number} is {version.get_status_display().lower()}: the quota "
                "calculator works on a draft."
            ],
            status=400,
        )
    initial, source = _prefill(agreement, version, timezone.now())
    bound = "revenue_goal" in request.GET
    form = QuotaForm(request.GET if bound else None, initial=initial)
    return _page(request, agreement, version, form=form, initial=initial, source=source)


@login_required
@require_POST
def quota_apply(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    agreement = _managed_agreement(request, pk)
    version = _version(agreement, number)
    now = timezone.now()
    initial, source = _prefill(agreement, version, now)
    form = QuotaForm(request.POST, initial=initial)
    if not form.is_valid():
        return _page(
            request,
            agreement,
            version,
            form=form,
            initial=initial,
            source=source,
            errors=["Check the assumptions marked below."],
            status=400,
        )
    try:
        commitment = services.lead_volume_from_quota(
            version=version,
            user=request.user,
            inputs=form.inputs(),
            stage=form.cleaned_data["stage"],
            source=source + _edited(form, initial),
            now=now,
        )
    except ValidationError as exc:
        return _page(
            request,
            agreement,
            version,
            form=form,
            initial=initial,
            source=source,
            errors=exc.messages,
            status=400,
        )
    messages.success(
        request,
        f"Version {number} now asks marketing for {commitment.target} "
        f"{commitment.stage.upper()}s a month; the assumptions are in the term's comment.",
    )
    return redirect(reverse("agreement-detail", args=[agreement.pk]) + "#pending-version")
