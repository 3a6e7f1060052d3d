"""REST API for teams, calendars, agreements (versions, commitments, signatures) and goals.

Thin views over `agreements.services` and `integrations.services`; a user sees the teams
and agreements they belong to (and the partner team across an agreement); staff see all."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agreements import access, services
from agreements import goals as goal_services
from agreements.access import require_agreement_manager
from agreements.diff import commitments_diff
from agreements.models import (
    Agreement,
    AgreementVersion,
    BusinessCalendar,
    Commitment,
    Goal,
    GoalCheckIn,
    Holiday,
    Membership,
    Side,
    Signature,
    Team,
    WorkingHours,
)
from agreements.services import COMMITMENT_FIELDS
from agreements.wording import commitment_sentence
from integrations import services as integration_services
from slahub.limits import TEXT_MAX

# Serializers ----------------------------------------------------------------------------


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "username", "role"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "side", "timezone", "calendar", "members"]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]$",
        "description": "A wall-clock time in the calendar's time zone (no offset).",
        "example": "09:00:00",
    }
)
class WallTimeField(serializers.TimeField):
    pass


class WorkingHoursSerializer(serializers.ModelSerializer):
    start = WallTimeField(read_only=True)
    end = WallTimeField(read_only=True)

    class Meta:
        model = WorkingHours
        fields = ["weekday", "start", "end"]
        read_only_fields = fields


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        read_only_fields = fields


class CalendarSerializer(serializers.ModelSerializer):
    hours = WorkingHoursSerializer(many=True, read_only=True)
    custom_holidays = HolidaySerializer(many=True, read_only=True)

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "timezone",
            "holiday_country",
            "holiday_subdivision",
            "hours",
            "custom_holidays",
        ]
        read_only_fields = fields


class CommitmentSerializer(serializers.ModelSerializer):
    side = serializers.ChoiceField(choices=Side.choices, read_only=True)
    sentence = serializers.SerializerMethodField(help_text="The promise in plain words.")

    class Meta:
        model = Commitment
        fields = ["id", "clause", *COMMITMENT_FIELDS, "side", "sentence"]
        read_only_fields = ["id", "clause", "side", "sentence"]
        extra_kwargs = {
            "within": {"help_text": "ISO 8601 duration, e.g. PT4H (first touch, disposition)."},
            "every": {"help_text": "ISO 8601 duration between follow-up attempts, e.g. P2D."},
            "applies_to": {"help_text": 'Filter on lead fields, e.g. {"tier": ["A"]}.'},
        }

    def get_sentence(self, commitment: Commitment) -> str:
        try:
            return commitment_sentence(commitment)
        except Exception:  # an odd stored value must not break the listing
            return str(commitment)


class CommitmentInSerializer(serializers.Serializer):
    """A new commitment on a draft version (the model checks the fields its kind needs)."""

    kind = serializers.ChoiceField(choices=Commitment.Kind.choices)
    clause = serializers.UUIDField(
        required=False,
        help_text="Continue this clause of the agreement (its history reads on). Default: the "
        "clause of the previous version's commitment of the same kind and applies_to, if any.",
    )
    order = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    applies_to = serializers.DictField(required=False)
    clock = serializers.ChoiceField(choices=Commitment.Clock.choices, required=False)
    warn_at_pct = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=99
    )
    within = serializers.CharField(required=False, allow_blank=True, max_length=32)
    attempts = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=50)
    every = serializers.CharField(required=False, allow_blank=True, max_length=32)
    min_gap = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="Follow-up: touches closer together than this count as one attempt "
        "(ISO 8601, default PT1H; empty: every touch counts).",
    )
    target = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**31 - 1
    )
    stage = serializers.ChoiceField(
        choices=Commitment.Stage.choices, required=False, allow_blank=True
    )
    period = serializers.ChoiceField(
        choices=Commitment.Period.choices, required=False, allow_blank=True
    )
    min_acceptance_pct = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100
    )
    min_sample = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class SignatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Signature
        fields = ["side", "user", "signed_at"]
        read_only_fields = fields


class VersionSerializer(serializers.ModelSerializer):
    commitments = CommitmentSerializer(many=True, read_only=True)
    signatures = SignatureSerializer(many=True, read_only=True)

    class Meta:
        model = AgreementVersion
        fields = [
            "id",
            "number",
            "status",
            "summary",
            "created_by",
            "created_at",
            "proposed_at",
            "effective_from",
            "effective_reason",
            "applies_to_running_periods",
            "effective_at",
            "activated_at",
            "ended_at",
            "signatures",
            "commitments",
        ]
        read_only_fields = fields


class AgreementSerializer(serializers.ModelSerializer):
    versions = VersionSerializer(many=True, read_only=True)

    class Meta:
        model = Agreement
        fields = [
            "id",
            "name",
            "marketing_team",
            "sales_team",
            "calendar",
            "created_at",
            "versions",
        ]
        read_only_fields = fields


class AgreementInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    marketing_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.MARKETING)
    )
    sales_team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.filter(side=Side.SALES))
    calendar = serializers.PrimaryKeyRelatedField(queryset=BusinessCalendar.objects.all())


class DraftSerializer(serializers.Serializer):
    summary = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)


class ProposeSerializer(serializers.Serializer):
    effective_from = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the terms start. Empty: when the second side signs. A later time "
        "schedules them; an earlier one (a backfill) is for staff, with effective_reason.",
    )
    effective_reason = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    applies_to_running_periods = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Judge the quota periods already running by these terms too.",
    )

    def validate_effective_from(self, value):
        from leads.bounds import MAX_YEAR, MIN_YEAR

        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise serializers.ValidationError(f"Give a time between {MIN_YEAR} and {MAX_YEAR}.")
        return value


class SignSerializer(serializers.Serializer):
    side = serializers.ChoiceField(
        choices=Side.choices,
        required=False,
        help_text="The side you sign for (needed only if you manage both teams).",
    )


class ChangeSerializer(serializers.Serializer):
    clause = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Commitment.Kind.choices)
    order = serializers.IntegerField()
    changes = serializers.DictField(
        child=serializers.DictField(), help_text='{field: {"from": old, "to": new}}'
    )


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    added = CommitmentSerializer(many=True)
    removed = CommitmentSerializer(many=True)
    changed = ChangeSerializer(many=True)


class CheckInSerializer(serializers.ModelSerializer):
    class Meta:
        model = GoalCheckIn
        fields = ["id", "on", "at", "value", "note", "marketing_note", "sales_note", "author"]
        # The value is the goal's metric at the check-in, computed (reports.goals).
        read_only_fields = ["id", "at", "value", "author"]
        extra_kwargs = {"on": {"required": False}}


class GoalPointSerializer(serializers.Serializer):
    period_start = serializers.DateField(source="start")
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True)


class GoalProgressSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="The current period's figure.")
    attainment_pct = serializers.FloatField(allow_null=True, help_text="value ÷ target, in %.")
    points = GoalPointSerializer(many=True, help_text="The goal's periods, oldest first.")


class GoalSerializer(serializers.ModelSerializer):
    check_ins = CheckInSerializer(many=True, read_only=True)
    progress = serializers.SerializerMethodField()

    @extend_schema_field(GoalProgressSerializer)
    def get_progress(self, goal: Goal) -> dict:
        from reports.goals import goal_progress

        return GoalProgressSerializer(goal_progress(goal, timezone.now())).data

    class Meta:
        model = Goal
        fields = ["id", "agreement", *goal_services.GOAL_FIELDS, "check_ins", "progress"]
        read_only_fields = ["id", "check_ins", "progress"]


# Views ----------------------------------------------------------------------------------


agreements_visible_to = access.agreements_visible_to


@extend_schema_view(
    list=extend_schema(summary="Your teams and their partner teams"),
    retrieve=extend_schema(summary="A team with its members"),
)
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Team.objects.none()
        return (
            access.teams_visible_to(self.request.user)
            .prefetch_related("memberships__user")
            .order_by("side", "name")
        )


@extend_schema_view(
    list=extend_schema(summary="Business calendars of your teams and agreements"),
    retrieve=extend_schema(summary="A business calendar: working hours and custom holidays"),
)
class CalendarViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CalendarSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return BusinessCalendar.objects.none()
        return (
            access.calendars_visible_to(self.request.user)
            .prefetch_related("hours", "custom_holidays")
            .order_by("name")
        )


_VERSION_PARAMS = [OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH)]


@extend_schema_view(
    list=extend_schema(summary="Agreements of your teams, with every version"),
    retrieve=extend_schema(summary="An agreement with its versions and their commitments"),
)
class AgreementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AgreementSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Agreement.objects.none()
        return (
            agreements_visible_to(self.request.user)
            .prefetch_related(
                Prefetch(
                    "versions",
                    queryset=AgreementVersion.objects.order_by("-number").prefetch_related(
                        "commitments", "signatures"
                    ),
                )
            )
            .order_by("name", "id")
        )

    def _version(self, number) -> AgreementVersion:
        agreement = self.get_object()
        return get_object_or_404(agreement.versions.all(), number=number)

    @extend_schema(
        summary="Create an agreement between a marketing and a sales team",
        description="Starts version 1 as a draft. Staff, or a manager of one of the teams.",
        request=AgreementInSerializer,
        responses={201: AgreementSerializer},
    )
    def create(self, request):
        serializer = AgreementInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agreement = integration_services.agreement_create(
            user=request.user, **serializer.validated_data
        )
        return Response(
            AgreementSerializer(self.get_queryset().get(pk=agreement.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        methods=["GET"], summary="The agreement's versions", responses=VersionSerializer(many=True)
    )
    @extend_schema(
        methods=["POST"],
        summary="Start a new draft version (a copy of the newest version's commitments)",
        request=DraftSerializer,
        responses={201: VersionSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def versions(self, request, pk=None):
        agreement = self.get_object()
        if request.method == "GET":
            return Response(VersionSerializer(agreement.versions.all(), many=True).data)
        serializer = DraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        require_agreement_manager(request.user, agreement)
        version = services.agreement_version_draft(
            agreement=agreement,
            user=request.user,
            summary=serializer.validated_data.get("summary", ""),
        )
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="One version with its commitments and signatures",
        parameters=_VERSION_PARAMS,
        responses=VersionSerializer,
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request, pk=None, number=None):
        return Response(VersionSerializer(self._version(number)).data)

    @extend_schema(
        summary="Add a commitment to a draft version",
        parameters=_VERSION_PARAMS,
        request=CommitmentInSerializer,
        responses={201: CommitmentSerializer},
    )
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>\d+)/commitments")
    def commitments(self, request, pk=None, number=None):
        version = self._version(number)
        require_agreement_manager(request.user, version.agreement)
        serializer = CommitmentInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        commitment = services.commitment_create(version=version, **serializer.validated_data)
        return Response(CommitmentSerializer(commitment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["DELETE"],
        summary="Take a commitment out of a draft version",
        parameters=[
            *_VERSION_PARAMS,
            OpenApiParameter("commitment", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        request=None,
        responses={204: None},
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Change a commitment of a draft version (it keeps its clause)",
        parameters=[
            *_VERSION_PARAMS,
            OpenApiParameter("commitment", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        request=CommitmentInSerializer(partial=True),
        responses=CommitmentSerializer,
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"versions/(?P<number>\d+)/commitments/(?P<commitment>\d+)",
    )
    def commitment(self, request, pk=None, number=None, commitment=None):
        version = self._version(number)
        require_agreement_manager(request.user, version.agreement)
        target = get_object_or_404(version.commitments.all(), pk=commitment)
        if request.method == "DELETE":
            services.commitment_delete(commitment=target)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = CommitmentInSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "clause" in changes:
            raise serializers.ValidationError({"clause": ["A commitment keeps its clause."]})
        target = services.commitment_update(commitment=target, **changes)
        return Response(CommitmentSerializer(target).data)

    @extend_schema(
        summary="Propose a draft version to the other side",
        description="With `effective_from`, the terms start at that time instead of at the "
        "second signature (a later time schedules the version; an earlier one, a backfill, "
        "is for staff and needs `effective_reason`).",
        parameters=_VERSION_PARAMS,
        request=ProposeSerializer,
        responses=VersionSerializer,
    )
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>\d+)/propose")
    def propose(self, request, pk=None, number=None):
        version = self._version(number)
        require_agreement_manager(request.user, version.agreement)
        serializer = ProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = services.agreement_version_propose(
            version=version,
            now=timezone.now(),
            user=request.user,
            effective_from=data.get("effective_from"),
            effective_reason=data.get("effective_reason", ""),
            applies_to_running_periods=data.get("applies_to_running_periods", False),
        )
        return Response(VersionSerializer(version).data)

    @extend_schema(
        summary="Sign a proposed version for your side",
        description="Only a manager of a side signs for it; the second side's signature "
        "makes the version active.",
        parameters=_VERSION_PARAMS,
        request=SignSerializer,
        responses=VersionSerializer,
    )
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>\d+)/sign")
    def sign(self, request, pk=None, number=None):
        version = self._version(number)
        serializer = SignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.agreement_version_sign(
            version=version,
            user=request.user,
            now=timezone.now(),
            side=serializer.validated_data.get("side"),
        )
        return Response(VersionSerializer(self._version(number)).data)

    @extend_schema(
        summary="Activate a version both sides have signed",
        parameters=_VERSION_PARAMS,
        request=None,
        responses=VersionSerializer,
    )
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>\d+)/activate")
    def activate(self, request, pk=None, number=None):
        version = self._version(number)
        require_agreement_manager(request.user, version.agreement)
        version = services.agreement_version_activate(version=version, now=timezone.now())
        return Response(VersionSerializer(version).data)

    @extend_schema(
        summary="What changed between two versions",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.INT, required=True, description="Old number"),
            OpenApiParameter("to", OpenApiTypes.INT, required=True, description="New number"),
        ],
        responses=DiffSerializer,
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        agreement = self.get_object()
        numbers = {}
        for key in ("from", "to"):
            field = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
            try:
                numbers[key] = field.run_validation(request.query_params.get(key))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({key: exc.detail}) from None
        versions = {
            v.number: v
            for v in agreement.versions.filter(number__in=numbers.values()).prefetch_related(
                "commitments"
            )
        }
        missing = {k: ["No such version."] for k, n in numbers.items() if n not in versions}
        if missing:
            raise serializers.ValidationError(missing)
        old, new = versions[numbers["from"]], versions[numbers["to"]]
        diff = commitments_diff(list(old.commitments.all()), list(new.commitments.all()))
        return Response(
            DiffSerializer({"from_version": old.number, "to_version": new.number, **diff}).data
        )


class GoalFilterSerializer(serializers.Serializer):
    agreement = serializers.IntegerField(required=False)


@extend_schema_view(
    list=extend_schema(summary="Shared goals of your agreements"),
    retrieve=extend_schema(summary="A goal with its check-ins"),
    create=extend_schema(summary="Set a shared goal (a manager of either side)"),
    partial_update=extend_schema(summary="Change a goal"),
    destroy=extend_schema(summary="Delete a goal"),
)
class GoalViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = GoalSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["agreement"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Goal.objects.none()
        return (
            Goal.objects.filter(
                agreement__in=access.agreements_with_data_visible_to(self.request.user)
            )
            .select_related("agreement__calendar")
            .prefetch_related("check_ins")
            .order_by("agreement", "name", "id")
        )

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        if getattr(self, "swagger_fake_view", False):
            return serializer
        if hasattr(serializer, "fields") and "agreement" in serializer.fields:
            serializer.fields["agreement"].queryset = access.agreements_with_data_visible_to(
                self.request.user
            )
        return serializer

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = goal_services.goal_create(
            user=self.request.user, agreement=data.pop("agreement"), **data
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "agreement" in data and data["agreement"] != serializer.instance.agreement:
            raise serializers.ValidationError({"agreement": ["A goal stays with its agreement."]})
        data.pop("agreement", None)
        serializer.instance = goal_services.goal_update(
            goal=serializer.instance, user=self.request.user, data=data
        )

    def perform_destroy(self, instance):
        goal_services.goal_delete(goal=instance, user=self.request.user)

    @extend_schema(
        summary="Record a check-in on the goal",
        request=CheckInSerializer,
        responses={201: CheckInSerializer},
    )
    @action(detail=True, methods=["post"], url_path="check-ins")
    def check_ins(self, request, pk=None):
        goal = self.get_object()
        serializer = CheckInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check_in = goal_services.goal_check_in(
            goal=goal, user=request.user, now=timezone.now(), **serializer.validated_data
        )
        return Response(CheckInSerializer(check_in).data, status=status.HTTP_201_CREATED)
