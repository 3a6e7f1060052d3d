"""Report endpoints under /api/v1/reports/…: the same numbers as the pages and the CSV
exports (reports.metrics), filtered by the same form (bad filters: 400 with field messages)."""

from __future__ import annotations

import re

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports import metrics
from reports.forms import ReportFilterForm, errors_of
from reports.metrics import ReportFilter

# Parameters ----------------------------------------------------------------------------

ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
FILTER_PARAMETERS = [
    OpenApiParameter(
        "start", OpenApiTypes.DATE, description="First day, inclusive (default: 89 days ago)."
    ),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, inclusive (default: today)."),
    OpenApiParameter("agreement", OpenApiTypes.INT, description="Only this agreement (id)."),
    OpenApiParameter(
        "team", OpenApiTypes.INT, description="Only agreements of this team, either side (id)."
    ),
    OpenApiParameter(
        "rep", OpenApiTypes.INT, description="Only this sales rep's clocks (user id)."
    ),
    OpenApiParameter(
        "tier", {"type": "string", "maxLength": 20}, description="Only leads of this tier."
    ),
    OpenApiParameter(
        "lead_source",
        {"type": "string", "maxLength": 100},
        description="Only leads from this lead source.",
    ),
]


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _filter_form(request: Request) -> tuple[ReportFilterForm, dict[str, list[str]]]:
    """The filter form, and its errors; the API takes dates only as YYYY-MM-DD."""
    form = ReportFilterForm(request.query_params, user=request.user)
    errors = {} if form.is_valid() else errors_of(form)
    for name in ("start", "end"):
        value = request.query_params.get(name)
        if value is not None and not ISO_DATE.fullmatch(value):
            errors[name] = ["Give the date as YYYY-MM-DD."]
    for name in ("agreement", "team", "rep"):
        if request.query_params.get(name, None) == "":
            errors[name] = ["Give an id, or leave the parameter out."]
    return form, errors


def _filter(request: Request) -> ReportFilter:
    form, errors = _filter_form(request)
    if errors:
        raise ValidationError(errors)
    return form.report_filter(now=timezone.now())


# Response serializers --------------------------------------------------------------------

Pct = dict(allow_null=True, help_text="A percentage with one decimal; null when nothing to judge.")


class FilterOutSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day covered (local).")
    end = serializers.DateField(help_text="Last day covered (local, inclusive).")
    timezone = serializers.CharField(help_text="The time zone the days are cut in.")
    now = serializers.DateTimeField(help_text="When the figures were judged.")
    agreements = serializers.ListField(child=serializers.IntegerField())
    rep = serializers.IntegerField(allow_null=True)
    tier = serializers.CharField(allow_blank=True)
    lead_source = serializers.CharField(allow_blank=True)
    rolled_up_through = serializers.DateField(
        allow_null=True,
        help_text="Days up to this one were read from the rollups the checks keep (refreshed "
        "every minute); later days live. Null: all live (see docs/metrics.md).",
    )


def filter_data(f: ReportFilter) -> dict:
    return {
        "start": f.first_day,
        "end": f.last_day,
        "timezone": str(f.tz),
        "now": f.now,
        "agreements": list(f.agreement_ids),
        "rep": f.rep_id,
        "tier": f.tier,
        "lead_source": f.lead_source,
        "rolled_up_through": metrics.rolled_through(f),
    }


class ClockComplianceSerializer(serializers.Serializer):
    decided = serializers.IntegerField(help_text="Clocks due in the range and decided.")
    met = serializers.IntegerField()
    missed = serializers.IntegerField()
    pct = serializers.FloatField(**Pct)


class FollowUpSerializer(ClockComplianceSerializer):
    made = serializers.IntegerField(help_text="Attempts made at all (in time or late).")
    made_pct = serializers.FloatField(**Pct)


class SalesSerializer(serializers.Serializer):
    first_touch = ClockComplianceSerializer()
    follow_up = FollowUpSerializer()
    disposition = ClockComplianceSerializer()


class BucketSerializer(serializers.Serializer):
    bucket = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class TimeToFirstTouchSerializer(serializers.Serializer):
    clocks = serializers.IntegerField()
    touched = serializers.IntegerField()
    untouched = serializers.IntegerField()
    median_minutes = serializers.FloatField(allow_null=True)
    p90_minutes = serializers.FloatField(allow_null=True)
    histogram = BucketSerializer(many=True)


class AcceptanceSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    dispositioned = serializers.IntegerField()
    pct = serializers.FloatField(**Pct)
    floor_pct = serializers.IntegerField(allow_null=True)
    min_sample = serializers.IntegerField(allow_null=True)
    below_floor = serializers.BooleanField(
        allow_null=True, help_text="Null when there is no floor or too few dispositions."
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()
    share_pct = serializers.FloatField(**Pct)


class PeriodSerializer(serializers.Serializer):
    period_id = serializers.IntegerField(source="obligation_id")
    agreement = serializers.IntegerField(source="agreement_id")
    period = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    stage = serializers.CharField()
    target = serializers.IntegerField(allow_null=True)
    actual = serializers.IntegerField(allow_null=True)
    attainment_pct = serializers.FloatField(**Pct)
    status = serializers.ChoiceField(choices=["running", "met", "missed", "waived", "not judged"])
    at_risk = serializers.BooleanField()


class TrendPointSerializer(serializers.Serializer):
    start = serializers.DateField()
    first_touch_pct = serializers.FloatField(**Pct)
    first_touch_clocks = serializers.IntegerField()
    follow_up_pct = serializers.FloatField(**Pct)
    attempts_made_pct = serializers.FloatField(**Pct)
    disposition_pct = serializers.FloatField(**Pct)
    ttft_median_minutes = serializers.FloatField(allow_null=True)
    acceptance_pct = serializers.FloatField(**Pct)
    dispositions = serializers.IntegerField()


class TrendSerializer(serializers.Serializer):
    week = TrendPointSerializer(many=True)
    month = TrendPointSerializer(many=True)


class ComplianceSerializer(serializers.Serializer):
    filter = FilterOutSerializer()
    sales = SalesSerializer()
    time_to_first_touch = TimeToFirstTouchSerializer()
    acceptance = AcceptanceSerializer()
    rejection_reasons = ReasonSerializer(many=True)
    volume = PeriodSerializer(many=True)
    trend = TrendSerializer()


def _clock(c: metrics.ClockCompliance) -> dict:
    return {"decided": c.decided, "met": c.met, "missed": c.missed, "pct": c.pct}


def _point(p: metrics.TrendPoint) -> dict:
    return {
        "start": p.start,
        "first_touch_pct": p.first_touch.pct,
        "first_touch_clocks": p.first_touch.decided,
        "follow_up_pct": p.follow_up.pct,
        "attempts_made_pct": p.follow_up.made_pct,
        "disposition_pct": p.disposition.pct,
        "ttft_median_minutes": p.ttft_median_minutes,
        "acceptance_pct": p.acceptance.pct,
        "dispositions": p.acceptance.dispositioned,
    }


def compliance_data(f: ReportFilter) -> dict:
    days = metrics.day_counts(f)
    sales = metrics.sales_compliance(f, days)
    ttft = metrics.time_to_first_touch(f, days)
    a = metrics.acceptance(f, days)
    return {
        "filter": filter_data(f),
        "sales": {
            "first_touch": _clock(sales["first_touch"]),
            "follow_up": {
                **_clock(sales["follow_up"]),
                "made": sales["follow_up"].made,
                "made_pct": sales["follow_up"].made_pct,
            },
            "disposition": _clock(sales["disposition"]),
        },
        "time_to_first_touch": {
            "clocks": ttft.clocks,
            "touched": ttft.touched,
            "untouched": ttft.untouched,
            "median_minutes": ttft.median_minutes,
            "p90_minutes": ttft.p90_minutes,
            "histogram": [
                {"bucket": key, "label": label, "count": n} for key, label, n in ttft.histogram
            ],
        },
        "acceptance": {
            "accepted": a.accepted,
            "rejected": a.rejected,
            "dispositioned": a.dispositioned,
            "pct": a.pct,
            "floor_pct": a.floor_pct,
            "min_sample": a.min_sample,
            "below_floor": a.below_floor,
        },
        "rejection_reasons": [
            {"reason": reason, "count": n, "share_pct": share}
            for reason, n, share in metrics.rejection_reasons(f)
        ],
        "volume": metrics.period_results(f),
        "trend": {
            grain: [_point(p) for p in metrics.trend(f, grain, days)] for grain in metrics.GRAINS
        },
    }


class FunnelRowSerializer(serializers.Serializer):
    group = serializers.CharField(allow_blank=True, help_text="Campaign or lead source.")
    mql = serializers.IntegerField()
    sal = serializers.IntegerField()
    sql = serializers.IntegerField()
    opportunity = serializers.IntegerField()
    won = serializers.IntegerField()
    sal_pct = serializers.FloatField(**Pct, label="SAL of MQL %")
    sql_pct = serializers.FloatField(**Pct)
    opportunity_pct = serializers.FloatField(**Pct)
    won_pct = serializers.FloatField(**Pct)
    overall_pct = serializers.FloatField(**Pct)
    recycled = serializers.IntegerField()
    rejected = serializers.IntegerField()
    won_amount = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text="The CRM deals won from the group's marketing-sourced leads (docs/metrics.md).",
    )
    sla_pct = serializers.FloatField(**Pct)
    sla_kept = serializers.IntegerField()
    sla_kept_to_sql_pct = serializers.FloatField(**Pct)
    sla_kept_to_won_pct = serializers.FloatField(**Pct)
    sla_missed = serializers.IntegerField()
    sla_missed_to_sql_pct = serializers.FloatField(**Pct)
    sla_missed_to_won_pct = serializers.FloatField(**Pct)


class FunnelSerializer(serializers.Serializer):
    filter = FilterOutSerializer()
    by = serializers.ChoiceField(choices=list(metrics.FUNNEL_GROUPS))
    rows = FunnelRowSerializer(many=True)
    total = FunnelRowSerializer()


def _funnel_row(row: metrics.FunnelRow) -> dict:
    c, rates = row.counts, row.conversions
    return {
        "group": row.group or "",
        **{stage: c[stage] for stage in metrics.FUNNEL_STEPS},
        **{f"{stage}_pct": rates[stage] for stage in metrics.FUNNEL_STEPS[1:]},
        "overall_pct": rates["overall"],
        "recycled": c["recycled"],
        "rejected": c["rejected"],
        "won_amount": row.won_amount,
        "sla_pct": row.sla_pct,
        "sla_kept": c["sla_kept"],
        "sla_kept_to_sql_pct": row.kept_to_sql_pct,
        "sla_kept_to_won_pct": row.kept_to_won_pct,
        "sla_missed": c["sla_missed"],
        "sla_missed_to_sql_pct": row.missed_to_sql_pct,
        "sla_missed_to_won_pct": row.missed_to_won_pct,
    }


def funnel_data(f: ReportFilter, by: str) -> dict:
    rows, total = metrics.funnel(f, by)
    return {
        "filter": filter_data(f),
        "by": by,
        "rows": [_funnel_row(r) for r in rows],
        "total": _funnel_row(total),
    }


# Views -----------------------------------------------------------------------------------


class ComplianceReportView(APIView):
    """Both sides' compliance for the range: sales clocks, time to first touch, acceptance
    against its floor, rejection reasons, volume per quota period, weekly and monthly trends.
    Rules: docs/metrics.md."""

    @extend_schema(
        operation_id="reports_compliance",
        parameters=FILTER_PARAMETERS,
        responses={200: ComplianceSerializer},
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        f = _filter(request)
        with metrics.report_reads():
            return Response(ComplianceSerializer(compliance_data(f)).data)


class FunnelQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(
        choices=list(metrics.FUNNEL_GROUPS),
        default="campaign",
        help_text="Group the funnel by campaign or by lead source.",
    )


class FunnelReportView(APIView):
    """The closed-loop funnel MQL → SAL → SQL → opportunity → won of the leads that entered
    it in the range, by campaign or lead source, with recycled and rejected leads and the
    conversion of leads whose first touch kept or missed the SLA. Rules: docs/metrics.md."""

    @extend_schema(
        operation_id="reports_funnel",
        parameters=[*FILTER_PARAMETERS, FunnelQuerySerializer],
        responses={200: FunnelSerializer},
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        query = FunnelQuerySerializer(data=request.query_params)
        errors = {} if query.is_valid() else dict(query.errors)
        if request.query_params.get("by", None) == "":
            errors["by"] = ["Choose campaign or lead_source, or leave the parameter out."]
        form, form_errors = _filter_form(request)
        errors.update(form_errors)
        if errors:
            raise ValidationError(errors)
        f = form.report_filter(now=timezone.now())
        with metrics.report_reads():
            data = funnel_data(f, query.validated_data["by"])
        return Response(FunnelSerializer(data).data)


urlpatterns = [
    path("reports/compliance/", ComplianceReportView.as_view(), name="reports-compliance"),
    path("reports/funnel/", FunnelReportView.as_view(), name="reports-funnel"),
]
