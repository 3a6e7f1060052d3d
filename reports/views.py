"""Report pages and their CSV exports: thin views over reports.tables / reports.metrics."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone

from agreements import access
from agreements.models import Commitment, Side, Team
from agreements.selectors import active_version, agreements_of, roles_of
from leads import selectors as lead_selectors
from reports import homes, metrics, tables, targets
from reports.forms import LeadsBehindForm, ReportFilterForm, errors_of
from reports.review_pack import review_pack
from reports.scorecard import scorecard
from reports.selectors import agreements_visible_to
from reports.shared import shared, shared_key, shared_page

PAGES = {"compliance": tables.compliance_tables, "funnel": tables.funnel_tables}


def _report(request: HttpRequest, page: str):
    """(form, filter, query, tables); filter and tables are None when the form is invalid."""
    form = ReportFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return form, None, {}, {}
    f = form.report_filter(now=timezone.now())
    query = form.query(f)
    # Shared for a few seconds by everyone whose filter resolves to the same agreements,
    # teams, days and choices (the key is the resolved filter, not the user), so the page
    # and its CSV exports show the same numbers; the filter says when they were judged.
    report, judged_at = shared(
        f"report-{page}", _report_key(f, query), lambda: (PAGES[page](f, query), f.now)
    )
    return form, replace(f, now=judged_at), query, report


def _report_key(f: metrics.ReportFilter, query: dict) -> tuple:
    return (*(getattr(f, n.name) for n in fields(f) if n.name != "now"), sorted(query.items()))


def _series(table: tables.Table, *columns: str, grain: str = "") -> dict:
    """Chart data from a table's own cells (so the chart shows the table's numbers); the
    rows of a trend (`grain` week or month) labelled as people read them ('3–9 Nov')."""
    index = {name: i for i, name in enumerate(table.columns)}
    return {
        "labels": [
            tables.period_label(row[0].value, grain) if grain else row[0].text for row in table.rows
        ],
        "series": [
            {"label": name, "data": [tables.number(row[index[name]].value) for row in table.rows]}
            for name in columns
        ],
    }


def _target_lines(floor: float | None) -> list[dict]:
    """The targets a compliance chart is read against: the sales clocks' target and, when the
    agreement sets one, the acceptance floor."""
    lines = [
        {"label": f"Sales target {targets.SALES_TARGET_PCT}%", "value": targets.SALES_TARGET_PCT}
    ]
    if floor is not None:
        lines.append({"label": f"Acceptance floor {floor:g}%", "value": floor})
    return lines


@login_required
def compliance(request: HttpRequest) -> HttpResponse:
    form, f, query, report = _report(request, "compliance")
    charts = {}
    if report:
        trend_columns = ("First touch %", "Follow-up on time %", "Disposition %", "Acceptance %")
        acceptance = report["acceptance"].rows
        lines = _target_lines(tables.number(acceptance[0][3].value) if acceptance else None)
        charts = {
            "chart-week": {
                "type": "line",
                **_series(report["trend_week"], *trend_columns, grain="week"),
                "targets": lines,
            },
            "chart-month": {
                "type": "bar",
                **_series(report["trend_month"], *trend_columns, grain="month"),
                "targets": lines,
            },
            "chart-histogram": {"type": "bar", **_series(report["histogram"], "Leads")},
            "chart-ttft": {
                "type": "line",
                **_series(report["trend_week"], "Median first touch", grain="week"),
                "unit": "minutes",
            },
        }
    return render(
        request,
        "reports/compliance.html",
        {
            "form": form,
            "f": f,
            "tables": report,
            "charts": charts,
            "query": urlencode(query),
            "rolled_through": metrics.rolled_through(f) if f else None,
            # The tables' HTML is shared as their figures are (templates/reports/compliance.html).
            "shared_seconds": settings.SLAHUB_SHARED_FIGURES_SECONDS,
            "shared_html_key": shared_key("report-compliance-html", _report_key(f, query))
            if f
            else "",
        },
        status=200 if f else 400,
    )


@login_required
def funnel(request: HttpRequest) -> HttpResponse:
    form, f, query, report = _report(request, "funnel")
    charts = {}
    if report:
        stages = [tables.STAGE_LABELS[s] for s in metrics.FUNNEL_STEPS]
        for by in metrics.FUNNEL_GROUPS:
            table = report[f"funnel_{by}"]
            data = _series(table, *stages)
            # Stages along the axis, one bar series per group (the total row left out).
            charts[f"chart-{by}"] = {
                "type": "bar",
                "labels": stages,
                "series": [
                    {"label": label, "data": [s["data"][i] for s in data["series"]]}
                    for i, label in enumerate(data["labels"][:-1])
                ],
            }
            sla = report[f"sla_{by}"]
            charts[f"chart-sla-{by}"] = {
                "type": "bar",
                **_series(sla, "→ SQL % (kept)", "→ SQL % (missed)"),
            }
    return render(
        request,
        "reports/funnel.html",
        {"form": form, "f": f, "tables": report, "charts": charts, "query": urlencode(query)},
        status=200 if f else 400,
    )


class ExportError(ValueError):
    """A report CSV asked for with an unknown report, table or filter (the message says
    what to fix)."""


def export_csv(request: HttpRequest, page: str, table: str) -> HttpResponse:
    """Any report table as CSV, with the same numbers as the page, for `request.user` (the
    page's session or the API's token); bad input raises ExportError."""
    if page in PAGES:
        form, f, _, report = _report(request, page)
        if f is None:
            raise ExportError("; ".join(f"{k}: {' '.join(v)}" for k, v in errors_of(form).items()))
        suffix = f.first_day.isoformat()
    elif page in ("scorecard", "review"):
        status, context = (_scorecard_context if page == "scorecard" else _review_context)(request)
        if status != 200:
            raise ExportError("Unknown agreement or month.")
        report = context["tables"]
        suffix = context.get("month", timezone.now().date()).strftime("%Y-%m")
    else:
        raise ExportError("Unknown report.")
    if table not in report:
        raise ExportError(f"Unknown table; choose one of: {', '.join(report)}.")
    response = HttpResponse(report[table].csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{page}-{table}-{suffix}.csv"'
    return response


@login_required
def export(request: HttpRequest, page: str, table: str) -> HttpResponse:
    try:
        return export_csv(request, page, table)
    except ExportError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")


@login_required
def leads(request: HttpRequest) -> HttpResponse:
    """The leads behind a figure, filtered exactly as the figure was counted."""
    form = ReportFilterForm(request.GET, user=request.user)
    which = LeadsBehindForm(request.GET)
    if not (form.is_valid() and which.is_valid()):
        errors = {**errors_of(form), **errors_of(which)}
        return render(request, "reports/leads.html", {"errors": errors}, status=400)
    f = form.report_filter(now=timezone.now())
    try:
        qs = metrics.leads_behind(f, **which.params())
    except ValueError as exc:
        return render(request, "reports/leads.html", {"errors": {"metric": [str(exc)]}}, status=400)
    qs = qs.select_related("owner", "sales_team").order_by("-handed_off_at", "-id")
    with metrics.report_reads():
        page = Paginator(qs, 50).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "reports/leads.html",
        {
            "page": page,
            "f": f,
            "which": which.params(),
            "title": tables.drilldown_title(which.params()),
            "query": params.urlencode(),
        },
    )


def _month(value: str | None, now: datetime, tz) -> date | None:
    if not value:
        return now.astimezone(tz).date().replace(day=1)
    try:
        parsed = datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return None
    return parsed if 2000 <= parsed.year <= 2999 else None


def _agreement(request: HttpRequest):
    agreements = agreements_visible_to(request.user).order_by("name", "pk")
    raw = request.GET.get("agreement")
    if raw:
        if not raw.isdigit() or len(raw) > 18:
            return agreements, None
        return agreements, agreements.filter(pk=int(raw)).first()
    return agreements, agreements.first()


def _sides(card) -> list:
    return [("sales", card.sales), ("marketing", card.marketing)] if card else []


def _scorecard_context(request: HttpRequest) -> tuple[int, dict]:
    agreements, agreement = _agreement(request)
    card = None
    if agreement is not None:
        card = scorecard(agreement, now=timezone.now(), count=3)
    status = 400 if request.GET.get("agreement") and agreement is None else 200
    context = {
        "agreements": agreements,
        "agreement": agreement,
        "card": card,
        "sides": _sides(card),
        "nav": "scorecard",
        "tables": {"scorecard": tables.scorecard_table(card)} if card else {},
        "query": urlencode({"agreement": agreement.pk}) if agreement else "",
    }
    return status, context


@login_required
def scorecard_page(request: HttpRequest) -> HttpResponse:
    status, context = _scorecard_context(request)
    return render(request, "reports/scorecard.html", context, status=status)


def _review_context(request: HttpRequest) -> tuple[int, dict]:
    agreements, agreement = _agreement(request)
    if agreement is None:
        return 400, {"agreements": agreements, "tables": {}}
    now = timezone.now()
    tz = metrics.agreement_tz(agreement)
    month = _month(request.GET.get("month"), now, tz)
    if month is None:
        return 400, {"agreements": agreements, "error": "Give the month as YYYY-MM.", "tables": {}}
    pack = review_pack(agreement, month=month, now=now)
    card, trend = pack.card, pack.trend
    quality = [
        c
        for c in (card.version.commitments.all() if card.version else [])
        if c.kind == "lead_quality"
    ]
    charts = {
        "chart-review": {
            "type": "line",
            **_series(
                trend,
                "First touch %",
                "Follow-up on time %",
                "Disposition %",
                "Acceptance %",
                grain="month",
            ),
            "targets": _target_lines(quality[0].min_acceptance_pct if quality else None),
        }
    }
    context = {
        "agreements": agreements,
        "agreement": agreement,
        "card": card,
        "sides": _sides(card),
        "nav": "scorecard",
        "month": month,
        "trend": trend,
        "charts": charts,
        "tables": {
            "scorecard": tables.scorecard_table(card),
            "trend_month": trend,
            "breaches": pack.breaches,
            "disputes": pack.disputes,
        },
        "query": urlencode({"agreement": agreement.pk, "month": f"{month:%Y-%m}"}),
    }
    return 200, context


@login_required
def review(request: HttpRequest) -> HttpResponse:
    """The monthly review pack: one printable page for the joint review of a month."""
    status, context = _review_context(request)
    return render(request, "reports/review.html", context, status=status)


# Role homes: the sales manager's team page and marketing's page --------------------------


@login_required
def team_home(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request.user)
    teams = roles.teams(Side.SALES, managed=True)
    if not teams and request.user.is_staff:
        teams = list(Team.objects.filter(side=Side.SALES))
    if not teams:
        raise PermissionDenied("The team page is for sales managers.")
    now = timezone.now()
    unassigned = Paginator(lead_selectors.leads_nobody_owes(teams), 10).get_page(
        request.GET.get("page")
    )
    members = list(
        get_user_model()
        .objects.filter(memberships__team__in=teams)
        .distinct()
        .order_by("first_name", "username")
    )
    breaches = lead_selectors.breaches_to_acknowledge(teams)
    # Shared by the team's managers for a few seconds; what they owe (breaches, leads nobody
    # owes) is read above on every request.
    figures = shared(
        "team-home",
        tuple(sorted(t.pk for t in teams)),
        lambda: homes.team_home(teams, now=now),
    )
    return render(
        request,
        "dashboard/team.html",
        {
            "nav": "home",
            "teams": teams,
            "compliance": figures.compliance,
            "reps": figures.reps,
            "unassigned": unassigned,
            "members": members,
            "breaches": breaches[:10],
            "breach_count": breaches.count(),
            "now": now,
        },
    )


# Marketing -------------------------------------------------------------------------------


@login_required
def marketing_home(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request.user)
    teams = roles.teams(Side.MARKETING) or (
        list(Team.objects.filter(side=Side.MARKETING)) if request.user.is_staff else []
    )
    if not teams:
        raise PermissionDenied("The marketing page is for marketing teams.")
    agreements = list(
        agreements_of(teams).filter(
            pk__in=access.agreements_with_data_visible_to(request.user).values("pk")
        )
    )
    context: dict = {"nav": "home", "teams": teams, "agreements": agreements}
    agreement = next(
        (a for a in agreements if str(a.pk) == request.GET.get("agreement")),
        agreements[0] if agreements else None,
    )
    context["agreement"] = agreement
    if agreement is None:
        return render(request, "dashboard/marketing.html", context)
    now = timezone.now()

    def terms_and_figures():
        version = active_version(agreement)
        commitments = list(version.commitments.all()) if version else []
        volume = [c for c in commitments if c.kind == Commitment.Kind.LEAD_VOLUME]
        quality = next((c for c in commitments if c.kind == Commitment.Kind.LEAD_QUALITY), None)
        return (
            version,
            quality,
            homes.marketing_home(agreement, volume=volume, quality=quality, now=now),
        )

    # Shared by everyone who sees this agreement's data, for a few seconds: marketing owes
    # nothing on this page, so nothing here must be current to the request.
    version, quality, figures = shared("marketing-home", (agreement.pk,), terms_and_figures)
    today_start, today_end = lead_selectors.local_day(now, agreement.calendar.timezone)
    handed = shared_page(
        "handed-off-today",
        (agreement.pk, today_start.isoformat()),
        lead_selectors.handed_off_between(agreement, today_start, today_end),
        25,
        request.GET.get("page"),
    )
    period = figures.period
    context.update(
        {
            "version": version,
            "paces": figures.paces,
            "charts": [
                {"id": f"quota-data-{i}", "data": p.chart, "pace": p}
                for i, p in enumerate(figures.paces)
            ],
            "quality": quality,
            "period": period,
            "period_last_day": period.end - timedelta(days=1),
            "acceptance": figures.acceptance,
            "reasons": figures.reasons,
            "reasons_chart": {
                "labels": [reason for reason, _, _ in figures.reasons],
                "values": [n for _, n, _ in figures.reasons],
                "label": "Rejected leads",
            },
            "handed": handed,
            "now": now,
        }
    )
    return render(request, "dashboard/marketing.html", context)
