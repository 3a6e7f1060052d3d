"""The imports pages: upload a CSV, preview it as it will be read, start it, watch its
progress and download the per-row report. Thin views over integrations.selectors (reads)
and integrations.services (writes); the import itself runs in the Celery worker."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import access
from agreements.models import Team
from integrations import selectors, services
from integrations.forms import UploadForm
from integrations.models import Import
from slahub.csv_export import csv_response

UPLOAD = "slahub_import_upload"  # the previewed file, waiting for "Start import"
STARTED = "slahub_imports_started"  # upload token → import id: a second click finds it


def _upload_form(request: HttpRequest, data=None, files=None) -> UploadForm:
    teams = access.teams_visible_to(request.user).order_by("name")
    return UploadForm(data, files, teams=teams, staff=access.is_staff(request.user))


def _list(request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    imports = selectors.imports_visible_to(request.user)[:20]
    return render(
        request,
        "integrations/import_list.html",
        {"nav": "imports", "form": form, "imports": imports},
        status=status,
    )


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    return _list(request, _upload_form(request))


def _team(pk) -> Team | None:
    return Team.objects.filter(pk=pk).first() if pk else None


def _preview_page(request: HttpRequest, upload: dict, *, errors=(), status=200) -> HttpResponse:
    preview = selectors.import_preview(
        user=request.user,
        content=upload["content"],
        preset=upload["preset"],
        mapping=upload["mapping"],
        source_system=upload["source_system"],
        sales_team=_team(upload["sales_team"]),
        marketing_team=_team(upload["marketing_team"]),
        now=timezone.now(),
    )
    return render(
        request,
        "integrations/import_preview.html",
        {
            "nav": "imports",
            "upload": upload,
            "preview": preview,
            "preset_label": Import.Preset(upload["preset"]).label,
            "errors": list(errors),
        },
        status=status,
    )


@login_required
@require_POST
def import_preview(request: HttpRequest) -> HttpResponse:
    """Read the upload and show its first rows as the import will read them."""
    form = _upload_form(request, request.POST, request.FILES)
    if not form.is_valid():
        return _list(request, form, status=400)
    data = form.cleaned_data
    upload = {
        "token": uuid.uuid4().hex,
        "content": form.content,
        "filename": form.filename,
        "preset": data["preset"],
        "mapping": data["mapping"],
        "source_system": data["source_system"],
        "sales_team": data["sales_team"].pk if data["sales_team"] else None,
        "marketing_team": data["marketing_team"].pk if data["marketing_team"] else None,
        "backfill_reason": data.get("backfill_reason", ""),
    }
    try:
        if not access.is_staff(request.user):  # as import_create will check
            access.require_routing(
                request.user, sales_team=data["sales_team"], marketing_team=data["marketing_team"]
            )
        response = _preview_page(request, upload)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return _list(request, form, status=400)
    request.session[UPLOAD] = upload
    return response


@login_required
@require_POST
def import_start(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("token", "")
    started = request.session.get(STARTED, {})
    if token in started:  # a second click, a reload: the import already runs
        return redirect("import-detail", pk=started[token])
    upload = request.session.get(UPLOAD)
    if not upload or upload["token"] != token:
        messages.error(request, "That upload is no longer waiting: upload the file again.")
        return redirect("import-list")
    try:
        record = services.import_start(
            user=request.user,
            content=upload["content"],
            filename=upload["filename"],
            preset=upload["preset"],
            mapping=upload["mapping"],
            source_system=upload["source_system"],
            sales_team=_team(upload["sales_team"]),
            marketing_team=_team(upload["marketing_team"]),
            now=timezone.now(),
            backfill_reason=upload["backfill_reason"],
        )
    except services.ImportNotQueued as exc:
        return _preview_page(request, upload, errors=[str(exc)], status=503)
    except ValidationError as exc:
        return _preview_page(request, upload, errors=exc.messages, status=400)
    request.session.pop(UPLOAD, None)
    request.session[STARTED] = dict(list(started.items())[-9:] + [(token, record.pk)])
    return redirect("import-detail", pk=record.pk)


def _visible_import(request: HttpRequest, pk: int) -> Import:
    return get_object_or_404(selectors.imports_visible_to(request.user), pk=pk)


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = _visible_import(request, pk)
    return render(request, "integrations/import_detail.html", {"nav": "imports", "record": record})


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone (htmx polls it every second until the import has ended)."""
    record = _visible_import(request, pk)
    return render(request, "integrations/_import_progress.html", {"record": record})


@login_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    record = _visible_import(request, pk)
    rows = (
        (number, result, external_id, lead_id, _plain_errors(errors))
        for number, result, external_id, lead_id, errors in selectors.import_report_rows(record)
    )
    return csv_response(
        f"import-{record.pk}-report.csv", ["row", "result", "external id", "lead", "errors"], rows
    )


def _plain_errors(errors) -> str:
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {_plain_errors(v)}" for k, v in errors.items())
    if isinstance(errors, list):
        return " ".join(_plain_errors(e) for e in errors)
    return str(errors or "")
