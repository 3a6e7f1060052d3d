"""REST API for leads, touches (activities), clocks (obligations) and breaches.

Thin views: every write calls `leads.services` (through `integrations.services` for the
upserts); visibility comes from `leads.selectors`."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from agreements import access
from agreements.errors import PermissionDenied
from integrations import services as integration_services
from integrations.serializers import (
    ActivityInSerializer,
    LeadDataSerializer,
    LeadUpsertSerializer,
    validate_upserts,
)
from leads import bounds, rules, services
from leads.models import (
    LEAD_DATA_FIELDS,
    Activity,
    ActivityUndo,
    Breach,
    Lead,
    Obligation,
    RejectionContest,
    Stage,
    StageEvent,
)
from leads.selectors import breaches_visible_to, leads_visible_to, obligations_visible_to
from slahub.limits import TEXT_MAX

BULK_MAX = 1000


# Serializers ----------------------------------------------------------------------------


class ObligationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Obligation
        fields = ["id", "kind", "attempt", "status", "user", "starts_at", "warn_at", "due_at"]


class StageEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageEvent
        fields = ["from_stage", "to_stage", "occurred_at", "user", "note"]


LEAD_FIELDS = [
    "id",
    "source_system",
    "external_id",
    *LEAD_DATA_FIELDS,
    "stage",
    "owner",
    "sales_team",
    "marketing_team",
    "handed_off_at",
    "accepted_at",
    "rejected_at",
    "rejection_reason",
    "agreement_version",
    "created_at",
    "updated_at",
]


class LeadSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="An email address, or empty.")

    class Meta:
        model = Lead
        fields = LEAD_FIELDS
        read_only_fields = LEAD_FIELDS


class LeadDetailSerializer(LeadSerializer):
    open_obligations = ObligationBriefSerializer(
        many=True, read_only=True, help_text="The lead's running clocks, soonest due first."
    )
    stage_events = StageEventSerializer(many=True, read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = [*LEAD_FIELDS, "open_obligations", "stage_events"]
        read_only_fields = fields


class LeadUpdateSerializer(LeadDataSerializer):
    """Descriptive fields and the owner; stage and hand-off have their own actions."""


BACKFILL_HELP = (
    "Staff only: why a time further back than the backfill window (SLAHUB_BACKFILL_DAYS, "
    "default 7 days) is recorded; it is kept with the event."
)


def backfill_reason_field():
    return serializers.CharField(
        max_length=300, required=False, allow_blank=True, write_only=True, help_text=BACKFILL_HELP
    )


class AtSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False,
        help_text="When it happened (default: now). Not in the future, not before the "
        "hand-off, at most the backfill window back.",
    )
    backfill_reason = backfill_reason_field()


class LeadCreateSerializer(LeadUpsertSerializer):
    backfill_reason = backfill_reason_field()


class ActivityCreateSerializer(ActivityInSerializer):
    backfill_reason = backfill_reason_field()


class RejectSerializer(AtSerializer):
    reason = serializers.CharField(max_length=150, help_text="A configured reason code or label.")


class StageSerializer(AtSerializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


@extend_schema_field(LeadUpsertSerializer(many=True))
class LeadUpsertItemsField(serializers.ListField):
    """Raw items, each validated on its own by the bulk upsert (a bad one never stops the
    others); documented as the LeadUpsert items they must be."""


class BulkLeadsSerializer(serializers.Serializer):
    leads = LeadUpsertItemsField(
        child=serializers.DictField(),
        min_length=1,
        max_length=BULK_MAX,
        help_text=f"Up to {BULK_MAX} leads, each shaped like LeadUpsert.",
    )
    backfill_reason = backfill_reason_field()


class BulkItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request.")
    external_id = serializers.CharField(allow_blank=True)
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(allow_null=True, help_text="The lead's id (null on error).")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error = serializers.IntegerField()


class BulkResultSerializer(serializers.Serializer):
    counts = BulkCountsSerializer()
    results = BulkItemSerializer(many=True)


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = [
            "id",
            "lead",
            "kind",
            "outcome",
            "occurred_at",
            "user",
            "note",
            "source_system",
            "external_id",
            "created_at",
        ]
        read_only_fields = fields


class ObligationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Obligation
        fields = [
            "id",
            "kind",
            "side",
            "status",
            "lead",
            "attempt",
            "period_start",
            "team",
            "user",
            "commitment",
            "agreement_version",
            "starts_at",
            "warn_at",
            "due_at",
            "met_at",
            "done_at",
            "warned_at",
            "closed_at",
            "target",
            "actual",
            "sample",
            "at_risk_at",
        ]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "string",
        "enum": ["", *Breach.Resolution.values],
        "description": "Empty until resolved.",
    }
)
class ResolutionOrBlankField(serializers.CharField):
    """A breach's resolution: `upheld`, `waived`, or empty while unresolved."""


class BreachSerializer(serializers.ModelSerializer):
    resolution = ResolutionOrBlankField(read_only=True)

    class Meta:
        model = Breach
        fields = [
            "id",
            "obligation",
            "kind",
            "side",
            "team",
            "user",
            "lead",
            "due_at",
            "detected_at",
            "status",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledge_note",
            "disputed_at",
            "disputed_by",
            "dispute_reason",
            "resolved_at",
            "resolved_by",
            "resolution",
            "resolution_note",
            "escalated_at",
        ]
        read_only_fields = fields


class UndoSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ActivityUndoSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityUndo
        fields = [
            "id",
            "lead",
            "activity_id",
            "kind",
            "outcome",
            "occurred_at",
            "logged_by",
            "logged_at",
            "undone_by",
            "undone_at",
            "reason",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class DisputeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX)


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Breach.Resolution.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class BulkAcknowledgeSerializer(serializers.Serializer):
    breaches = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=services.BULK_MAX,
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class BulkAcknowledgeResultSerializer(serializers.Serializer):
    acknowledged = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.DictField(
        child=serializers.CharField(), help_text="Breach id → why it was not acknowledged."
    )


# Filters --------------------------------------------------------------------------------


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time with any offset, turned into UTC (the database refuses odd offsets)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("This time is out of range.") from None


class TimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class IdField(forms.IntegerField):
    """A whole, positive id: `2.5` or `-1` is a 400, never silently another id."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1})
class IdFilter(django_filters.NumberFilter):
    field_class = IdField


class LeadFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    owner = IdFilter(field_name="owner_id")
    team = IdFilter(field_name="sales_team_id", label="Sales team id")
    marketing_team = IdFilter(field_name="marketing_team_id")
    tier = django_filters.CharFilter()
    campaign = django_filters.CharFilter()
    lead_source = django_filters.CharFilter()
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    handed_off_after = TimeFilter(field_name="handed_off_at", lookup_expr="gte")
    handed_off_before = TimeFilter(field_name="handed_off_at", lookup_expr="lt")

    class Meta:
        model = Lead
        fields: list[str] = []


class ActivityFilter(django_filters.FilterSet):
    lead = IdFilter(field_name="lead_id")
    user = IdFilter(field_name="user_id")
    kind = django_filters.ChoiceFilter(choices=Activity.Kind.choices)
    outcome = django_filters.ChoiceFilter(choices=Activity.Outcome.choices)
    source_system = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    occurred_after = TimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = TimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields: list[str] = []


class ObligationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Obligation.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Obligation._meta.get_field("kind").choices)
    side = django_filters.ChoiceFilter(choices=Obligation._meta.get_field("side").choices)
    owner = IdFilter(field_name="user_id", label="Responsible user id")
    team = IdFilter(field_name="team_id")
    lead = IdFilter(field_name="lead_id")
    due_after = TimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = TimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Obligation
        fields: list[str] = []


class BreachFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Breach.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Breach._meta.get_field("kind").choices)
    side = django_filters.ChoiceFilter(choices=Breach._meta.get_field("side").choices)
    user = IdFilter(field_name="user_id")
    team = IdFilter(field_name="team_id")
    lead = IdFilter(field_name="lead_id")
    due_after = TimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = TimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Breach
        fields: list[str] = []


# Views ----------------------------------------------------------------------------------


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _past_or_now(value, now):
    if value is not None and value > now:
        raise ApiValidationError({"at": ["Cannot be in the future."]})
    return value


@extend_schema_view(
    list=extend_schema(summary="Leads visible to you (filter by stage, owner, team, …)"),
    retrieve=extend_schema(summary="A lead, with its open clocks and stage history"),
)
class LeadViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = LeadFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Lead.objects.none()
        leads = leads_visible_to(self.request.user).order_by("-handed_off_at", "-id")
        if self.action == "retrieve":
            leads = leads.prefetch_related(
                Prefetch(
                    "obligations",
                    queryset=Obligation.objects.filter(status=Obligation.Status.OPEN).order_by(
                        "due_at", "id"
                    ),
                    to_attr="open_obligations",
                ),
                "stage_events",
            )
        return leads

    def get_serializer_class(self):
        if self.action == "retrieve":
            return LeadDetailSerializer
        return LeadSerializer

    def _detail(self, lead: Lead, code: int = status.HTTP_200_OK) -> Response:
        lead = self.get_queryset().model.objects.filter(pk=lead.pk)
        lead = lead.prefetch_related(
            Prefetch(
                "obligations",
                queryset=Obligation.objects.filter(status=Obligation.Status.OPEN).order_by(
                    "due_at", "id"
                ),
                to_attr="open_obligations",
            ),
            "stage_events",
        ).get()
        return Response(LeadDetailSerializer(lead).data, status=code)

    @extend_schema(
        summary="Create or update a lead by (source_system, external_id)",
        description="An upsert: 201 when created, 200 when updated or unchanged. Sending "
        "`handed_off_at` hands the lead to sales and starts its clocks; `stage` moves it "
        "through the same services as the stage/accept/reject actions.",
        request=LeadCreateSerializer,
        responses={201: LeadDetailSerializer, 200: LeadDetailSerializer},
    )
    def create(self, request):
        serializer = LeadCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with bounds.backfill(data.pop("backfill_reason", ""), by=request.user):
            result, lead = integration_services.lead_upsert(
                data=data, now=timezone.now(), user=request.user
            )
        code = status.HTTP_201_CREATED if result == "created" else status.HTTP_200_OK
        return self._detail(lead, code)

    @extend_schema(
        summary="Change a lead's descriptive fields or owner",
        request=LeadUpdateSerializer,
        responses=LeadDetailSerializer,
    )
    def partial_update(self, request, pk=None):
        lead = self.get_object()
        _require(rules.can_edit_lead(request.user, lead), "Only the lead's teams change it.")
        serializer = LeadUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "owner" in data:
            _require(rules.can_manage_lead(request.user, lead), "Only a sales manager reassigns.")
        now = timezone.now()
        with transaction.atomic():  # the owner and the fields change together, or neither
            if "owner" in data:
                owner = data.pop("owner")
                if owner != lead.owner:
                    lead = services.lead_reassign(
                        lead=lead, owner=owner, now=now, user=request.user
                    )
            if data:
                lead = services.lead_update(lead=lead, data=data)
        return self._detail(lead)

    @extend_schema(
        summary="Hand the lead to sales (starts its clocks)",
        request=AtSerializer,
        responses=LeadDetailSerializer,
    )
    @action(detail=True, methods=["post"], url_path="hand-off")
    def hand_off(self, request, pk=None):
        lead = self.get_object()
        _require(rules.can_edit_lead(request.user, lead), "Only the lead's teams hand it off.")
        serializer = AtSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        at = _past_or_now(serializer.validated_data.get("at"), now)
        with bounds.backfill(serializer.validated_data.get("backfill_reason"), by=request.user):
            services.lead_hand_off(lead=lead, at=at, now=now, user=request.user)
        return self._detail(lead)

    @extend_schema(
        summary="Sales accepts the lead (SAL)", request=AtSerializer, responses=LeadDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        lead = self.get_object()
        _require(rules.can_work_lead(request.user, lead), "Only sales accepts a lead.")
        serializer = AtSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        at = _past_or_now(serializer.validated_data.get("at"), now)
        with bounds.backfill(serializer.validated_data.get("backfill_reason"), by=request.user):
            lead = services.lead_accept(lead=lead, now=now, at=at, user=request.user)
        return self._detail(lead)

    @extend_schema(
        summary="Sales rejects the lead, with a reason",
        request=RejectSerializer,
        responses=LeadDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        lead = self.get_object()
        _require(rules.can_work_lead(request.user, lead), "Only sales rejects a lead.")
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        at = _past_or_now(serializer.validated_data.get("at"), now)
        with bounds.backfill(serializer.validated_data.get("backfill_reason"), by=request.user):
            lead = services.lead_reject(
                lead=lead,
                reason=serializer.validated_data["reason"],
                now=now,
                at=at,
                user=request.user,
            )
        return self._detail(lead)

    @extend_schema(
        summary="Move the lead to another funnel stage",
        request=StageSerializer,
        responses=LeadDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        lead = self.get_object()
        _require(rules.can_edit_lead(request.user, lead), "Only the lead's teams move it.")
        serializer = StageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        data = serializer.validated_data
        access.require_stage_change(request.user, lead, data["stage"])
        with bounds.backfill(data.get("backfill_reason"), by=request.user):
            lead = services.lead_set_stage(
                lead=lead,
                stage=data["stage"],
                now=now,
                at=_past_or_now(data.get("at"), now),
                note=data.get("note", ""),
                user=request.user,
            )
        return self._detail(lead)

    @extend_schema(
        summary="Upsert up to 1,000 leads; answers per item",
        description="Each item is a LeadUpsert. Items are applied one by one, each on its "
        "own: a bad item is reported with its field messages and never stops the others. "
        "Sending the same batch again answers `unchanged` for every item.",
        request=BulkLeadsSerializer,
        responses=BulkResultSerializer,
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def bulk(self, request):
        serializer = BulkLeadsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = [
            item if "data" in item else {"errors": integration_services._plain(item["errors"])}
            for item in validate_upserts(serializer.validated_data["leads"])
        ]
        with bounds.backfill(serializer.validated_data.get("backfill_reason"), by=request.user):
            outcomes = integration_services.lead_upsert_many(
                items, now=timezone.now(), user=request.user
            )
        counts = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
        results = []
        for index, (raw, outcome) in enumerate(
            zip(serializer.validated_data["leads"], outcomes, strict=True)
        ):
            counts[outcome["result"]] += 1
            results.append(
                {
                    "index": index,
                    "external_id": str(raw.get("external_id", ""))[:100],
                    "result": outcome["result"],
                    "id": outcome["lead"].pk if outcome["lead"] else None,
                    "errors": outcome["errors"],
                }
            )
        return Response(BulkResultSerializer({"counts": counts, "results": results}).data)


@extend_schema_view(
    list=extend_schema(summary="Touches on leads visible to you"),
    retrieve=extend_schema(summary="One touch"),
)
class ActivityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Activity.objects.none()
        return Activity.objects.filter(
            lead__in=leads_visible_to(self.request.user).values("pk")
        ).order_by("-occurred_at", "-id")

    @extend_schema(
        summary="Log a touch on a lead",
        description="Meets the lead's open first-touch or follow-up clock. A touch with a "
        "(source_system, external_id) already recorded is not logged again: the answer is "
        "200 with the existing touch instead of 201.",
        request=ActivityCreateSerializer,
        responses={201: ActivitySerializer, 200: ActivitySerializer},
    )
    def create(self, request):
        serializer = ActivityCreateSerializer(
            data=request.data, leads=leads_visible_to(request.user)
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        lead = data["lead"]
        _require(rules.can_work_lead(request.user, lead), "Only sales logs touches.")
        with bounds.backfill(data.pop("backfill_reason", ""), by=request.user):
            result, activity = integration_services.activity_upsert(
                lead=lead, data=data, now=timezone.now(), user=request.user
            )
        code = status.HTTP_201_CREATED if result == "created" else status.HTTP_200_OK
        return Response(ActivitySerializer(activity).data, status=code)

    @extend_schema(
        summary="Undo a touch logged by mistake",
        description="Its author within 15 minutes, or a manager of the lead's sales team at "
        "any time; the newest touch on the lead first. The clocks it met or stopped run again "
        "(missed at their due time if that has passed), the attempt it started is cancelled, "
        "and the undo is recorded.",
        request=UndoSerializer,
        responses=ActivityUndoSerializer,
    )
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        activity = self.get_object()
        serializer = UndoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = services.activity_undo(
            activity=activity, user=request.user, now=timezone.now(), **serializer.validated_data
        )
        return Response(ActivityUndoSerializer(record).data)


@extend_schema_view(
    list=extend_schema(summary="Clocks (filter by status, due range, side, owner)"),
    retrieve=extend_schema(summary="One clock"),
)
class ObligationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ObligationSerializer
    filterset_class = ObligationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Obligation.objects.none()
        return obligations_visible_to(self.request.user).order_by("due_at", "id")


@extend_schema_view(
    list=extend_schema(summary="Breaches visible to you"),
    retrieve=extend_schema(summary="One breach"),
)
class BreachViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = BreachSerializer
    filterset_class = BreachFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Breach.objects.none()
        return breaches_visible_to(self.request.user).order_by("-due_at", "-id")

    def _answer(self, request, serializer_class, service) -> Response:
        """Check the body, then move the breach through `service`: the serializers' fields
        are the service's keywords."""
        breach = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        breach = service(
            breach=breach, user=request.user, now=timezone.now(), **serializer.validated_data
        )
        return Response(BreachSerializer(breach).data)

    @extend_schema(
        summary="The breached side acknowledges it",
        request=AcknowledgeSerializer,
        responses=BreachSerializer,
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._answer(request, AcknowledgeSerializer, services.breach_acknowledge)

    @extend_schema(
        summary="The breached side disputes it, with a reason",
        request=DisputeSerializer,
        responses=BreachSerializer,
    )
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        return self._answer(request, DisputeSerializer, services.breach_dispute)

    @extend_schema(
        summary="The other side's manager resolves it (upheld or waived)",
        request=ResolveSerializer,
        responses=BreachSerializer,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self._answer(request, ResolveSerializer, services.breach_resolve)

    @extend_schema(
        operation_id="breaches_acknowledge_many",
        summary="Acknowledge many breaches with one note (each checked; refusals listed)",
        request=BulkAcknowledgeSerializer,
        responses=BulkAcknowledgeResultSerializer,
    )
    @action(detail=False, methods=["post"], url_path="acknowledge")
    def acknowledge_many(self, request):
        serializer = BulkAcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.breach_acknowledge_many(
            breach_ids=serializer.validated_data["breaches"],
            user=request.user,
            note=serializer.validated_data.get("note", ""),
            now=timezone.now(),
        )
        return Response(
            {
                "acknowledged": [b.pk for b in result.acknowledged],
                "refused": {str(pk): why for pk, why in result.refused.items()},
            }
        )


# Contested rejections -----------------------------------------------------------------------


class ContestSerializer(serializers.ModelSerializer):
    rejected_at = serializers.DateTimeField(source="rejection.occurred_at", read_only=True)
    rejection_reason = serializers.CharField(source="rejection.note", read_only=True)

    class Meta:
        model = RejectionContest
        fields = [
            "id",
            "lead",
            "rejected_at",
            "rejection_reason",
            "contested_by",
            "contested_at",
            "reason",
            "decision",
            "decided_by",
            "decided_at",
            "note",
        ]
        read_only_fields = fields


class ContestOpenSerializer(serializers.Serializer):
    lead = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.CharField(max_length=TEXT_MAX)


class ContestDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=RejectionContest.Decision.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


@extend_schema_view(
    list=extend_schema(summary="Contested rejections of the leads visible to you"),
    retrieve=extend_schema(summary="One contested rejection"),
)
class ContestViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ContestSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RejectionContest.objects.none()
        return (
            access.contests_visible_to(self.request.user)
            .select_related("rejection")
            .order_by("-contested_at", "-id")
        )

    @extend_schema(
        summary="Marketing's manager contests a lead's rejection, with a reason",
        request=ContestOpenSerializer,
        responses={201: ContestSerializer},
    )
    def create(self, request):
        serializer = ContestOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lead = leads_visible_to(request.user).filter(pk=serializer.validated_data["lead"]).first()
        if lead is None:
            raise ApiValidationError({"lead": ["No such lead among those you see."]})
        contest = services.rejection_contest_open(
            lead=lead,
            user=request.user,
            reason=serializer.validated_data["reason"],
            now=timezone.now(),
        )
        return Response(ContestSerializer(contest).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The lead's sales manager upholds the rejection or returns the lead to its rep",
        request=ContestDecideSerializer,
        responses=ContestSerializer,
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        contest = self.get_object()
        serializer = ContestDecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contest = services.rejection_contest_decide(
            contest=contest, user=request.user, now=timezone.now(), **serializer.validated_data
        )
        return Response(ContestSerializer(contest).data)
