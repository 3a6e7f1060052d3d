"""The what-if replay page of a drafted or proposed version: start a replay (the last full
quarter by default), watch its progress, read the last result side by side. The replay
itself is `agreements.replay`; this module only shapes requests and answers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from agreements import access, replay
from agreements.errors import PermissionDenied as RuleRefused
from agreements.errors import ValidationError
from agreements.models import AgreementVersion


class WindowForm(forms.Form):
    window_start = forms.DateField(
        label="First day", widget=forms.DateInput(attrs={"type": "date"})
    )
    window_end = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _replayable(request: HttpRequest, pk: int, number: int) -> tuple[AgreementVersion, ZoneInfo]:
    version = get_object_or_404(
        AgreementVersion.objects.select_related("agreement__calendar").filter(
            agreement__in=access.agreements_visible_to(request.user)
        ),
        agreement_id=pk,
        number=number,
    )
    if not replay.can_replay(request.user, version):
        raise PermissionDenied("Only a manager of either team (or staff) replays the terms.")
    return version, ZoneInfo(version.agreement.calendar.timezone)


def _context(version: AgreementVersion, tz: ZoneInfo, form: WindowForm | None = None) -> dict:
    now = timezone.now()
    quarter = replay.last_full_quarter(now, tz)
    if form is None:
        form = WindowForm(
            initial={
                "window_start": quarter.start.date(),
                "window_end": (quarter.end - timedelta(days=1)).date(),
            }
        )
    run = replay.last_run(version)
    return {
        "nav": "agreements",
        "agreement": version.agreement,
        "version": version,
        "form": form,
        "run": run,
        "view": replay.result_view(run.result) if run and run.status == "done" else None,
        "tz": str(tz),
    }


@login_required
def version_replay(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version, tz = _replayable(request, pk, number)
    if request.method != "POST":
        return render(request, "agreements/replay.html", _context(version, tz))
    form = WindowForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        start = _midnight(form.cleaned_data["window_start"], tz)
        end = _midnight(form.cleaned_data["window_end"] + timedelta(days=1), tz)
        try:
            replay.replay_request(
                version=version,
                user=request.user,
                now=timezone.now(),
                window_start=start,
                window_end=end,
            )
        except RuleRefused as exc:
            raise PermissionDenied(str(exc)) from exc
        except ValidationError as exc:
            errors = exc.messages
        else:
            return redirect("version-replay", pk=pk, number=number)
    else:
        errors = [e for field in form.errors.values() for e in field]
    context = _context(version, tz, form)
    context["errors"] = errors
    return render(request, "agreements/replay.html", context, status=400)


@login_required
def version_replay_progress(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The last run alone (htmx polls it every second until it has ended)."""
    version, tz = _replayable(request, pk, number)
    return render(request, "agreements/_replay_run.html", _context(version, tz))
