"""The connectors settings page: one card per CRM, its settings form, 'sync now' with the
run's progress, and the sync log (counts per run, each skip with its reason)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import access
from agreements.errors import ValidationError
from connectors import selectors, services, sync
from connectors.forms import ConnectorForm
from connectors.models import Connector, SyncRun


def _require_configurer(request: HttpRequest) -> None:
    if not access.can_configure_connectors(request.user):
        raise PermissionDenied("Only staff and team managers set up CRM connectors.")


def _kind(kind: str) -> str:
    if kind not in Connector.Kind.values:
        raise Http404("No such connector.")
    return kind


def _visible(request: HttpRequest, kind: str) -> Connector | None:
    """The connector of `kind` if the user may configure it; 404 when it exists but is
    another team's (its existence is no business of theirs)."""
    connector = Connector.objects.filter(kind=kind).first()
    if connector is not None and not access.can_configure_connector(request.user, connector):
        raise Http404("No such connector.")
    return connector


@login_required
def connectors_page(request: HttpRequest) -> HttpResponse:
    _require_configurer(request)
    mine = {c.kind: c for c in selectors.connectors_visible_to(request.user)}
    taken = set(Connector.objects.values_list("kind", flat=True))
    cards = []
    for kind, label in Connector.Kind.choices:
        connector = mine.get(kind)
        last = selectors.runs_of(connector, limit=1) if connector else []
        cards.append(
            {
                "kind": kind,
                "label": label,
                "connector": connector,
                "last": last[0] if last else None,
                "available": connector is not None or kind not in taken,
            }
        )
    return render(request, "settings/connectors.html", {"nav": "settings", "cards": cards})


@login_required
def connector_edit(request: HttpRequest, kind: str) -> HttpResponse:
    _require_configurer(request)
    kind = _kind(kind)
    connector = _visible(request, kind)
    if connector is None and Connector.objects.filter(kind=kind).exists():
        raise Http404("No such connector.")
    form = ConnectorForm(request.POST or None, user=request.user, kind=kind, connector=connector)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                connector = services.connector_save(
                    user=request.user,
                    kind=kind,
                    sales_team=data["sales_team"],
                    marketing_team=data.get("marketing_team"),
                    run_as=data["run_as"],
                    enabled=data["enabled"],
                    stage_map=data["stage_map"],
                    writeback={
                        "first_touch_due": data.get("writeback_first_touch_due", ""),
                        "sla_status": data.get("writeback_sla_status", ""),
                    },
                    settings={k: data.get(k, "") for k in services.SETTING_FIELDS},
                    secrets={k: data.get(k, "") for k in services.SECRET_FIELDS[kind]},
                    now=timezone.now(),
                )
            except ValidationError as exc:
                for field, errors in getattr(
                    exc, "message_dict", {"__all__": exc.messages}
                ).items():
                    form.add_error(field if field in form.fields else None, errors)
                status = 400
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
                status = 403
            else:
                messages.success(request, f"{connector} connector saved.")
                return redirect("settings-connector", kind=kind)
        else:
            status = 400
    context = {
        "nav": "settings",
        "kind": kind,
        "label": Connector.Kind(kind).label,
        "form": form,
        "connector": connector,
        "stored_secrets": services.stored_secret_names(connector),
        "runs": selectors.runs_of(connector) if connector else [],
        "writeback_fields": sync.WRITEBACK_FIELDS,
    }
    return render(request, "settings/connector.html", context, status=status)


@login_required
@require_POST
def connector_sync(request: HttpRequest, kind: str) -> HttpResponse:
    _require_configurer(request)
    connector = _visible(request, _kind(kind))
    if connector is None:
        raise Http404("Set the connector up first.")
    from connectors.tasks import run_sync
    from slahub.queueing import enqueue_after_commit

    run = sync.sync_request(connector=connector, user=request.user, now=timezone.now())
    # Recorded first; if the broker is down, the connectors beat starts it.
    enqueue_after_commit(run_sync, run.pk)
    messages.success(request, "Sync started: its progress shows below.")
    return redirect("settings-connector", kind=kind)


@login_required
def connector_run(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_configurer(request)
    connector = _visible(request, _kind(kind))
    if connector is None:
        raise Http404("No such connector.")
    run = get_object_or_404(SyncRun, pk=pk, connector=connector)
    template = "settings/_connector_run.html" if request.htmx else "settings/connector_run.html"
    context = {"nav": "settings", "connector": connector, "run": run, "kind": kind}
    context["skips"] = run.skips.all()[:500]
    return render(request, template, context)
