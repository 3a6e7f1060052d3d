"""The provisioning API: create and change teams, their members (invited by email),
business calendars with hours and holidays, and rejection reasons — thin views over
`agreements.provisioning`, the pages' rules. Every POST that creates takes an optional
`Idempotency-Key` header: the same request sent again with the same key gets the first
answer back (docs/api.md, "Provisioning a company")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from agreements import access, api, provisioning
from agreements.models import (
    BusinessCalendar,
    IdempotencyKey,
    Membership,
    RejectionReason,
    Side,
    Team,
)
from slahub.api_errors import ErrorSerializer

# Idempotency ------------------------------------------------------------------------------

KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": 100, "minLength": 1},
    OpenApiParameter.HEADER,
    description="Optional, chosen by you: the same request sent again with the same key "
    "answers as the first time did and changes nothing. The key with another body: 422.",
)


KEY_REUSED = OpenApiResponse(
    ErrorSerializer, description="The Idempotency-Key was used for another request."
)


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used for another request; choose a new key."
    default_code = "idempotency_key_reused"


class KeyInvalid(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Send an Idempotency-Key of 1 to 100 printable characters."
    default_code = "invalid"


def idempotent(request: Request, create: Callable[[], Response]) -> Response:
    """`create()`, once per (user, key): the answer is stored with the key in the same
    transaction as the change, so a replay never creates twice; two requests racing with
    one key: the second gets a 409. A refused request stores nothing (send it again fixed)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return create()
    if not (0 < len(key) <= 100) or not key.isprintable():
        raise KeyInvalid()
    body = json.dumps(request.data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    fingerprint = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
    with transaction.atomic():
        seen = IdempotencyKey.objects.filter(user=request.user, key=key).first()
        if seen is not None:
            if seen.fingerprint != fingerprint:
                raise KeyReused()
            return Response(
                json.loads(seen.body), status=seen.status, headers={"Idempotent-Replayed": "true"}
            )
        response = create()
        IdempotencyKey.objects.create(
            user=request.user,
            key=key,
            fingerprint=fingerprint,
            status=response.status_code,
            body=json.dumps(response.data, cls=DjangoJSONEncoder),
            created_at=timezone.now(),
        )
        return response


# Serializers ------------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "nullable": True})
class VisibleCalendarField(serializers.PrimaryKeyRelatedField):
    """A calendar id among those the caller sees (another one reads as unknown)."""

    def get_queryset(self):
        return access.calendars_visible_to(self.context["request"].user)


class TeamInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    side = serializers.ChoiceField(choices=Side.choices)
    timezone = serializers.CharField(max_length=64, default="UTC", help_text="IANA zone.")
    calendar = VisibleCalendarField(allow_null=True, required=False, default=None)


class TeamUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    side = serializers.ChoiceField(
        choices=Side.choices, required=False, help_text="Cannot change; accepted if the same."
    )
    timezone = serializers.CharField(max_length=64, required=False)
    calendar = VisibleCalendarField(allow_null=True, required=False)


class MemberInSerializer(serializers.Serializer):
    email = serializers.EmailField(
        required=False,
        help_text="An account with this email joins now; a new address is invited by email.",
    )
    username = serializers.CharField(
        max_length=150, required=False, help_text="Or an existing user's username."
    )
    role = serializers.ChoiceField(choices=Membership.Role.choices, default="member")

    def validate(self, attrs: dict) -> dict:
        if not (attrs.get("email") or attrs.get("username")):
            raise serializers.ValidationError({"email": "Give an email or a username."})
        return attrs


class MemberOutSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["member", "invited"],
        help_text="member: in the team now; invited: the invitation link was emailed.",
    )
    user = serializers.IntegerField(allow_null=True, help_text="Null while invited.")
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    invitation_expires_at = serializers.DateTimeField(allow_null=True)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


def member_data(result: provisioning.MemberResult) -> dict:
    invitation, membership = result.invitation, result.membership
    return {
        "state": "member" if membership else "invited",
        "user": membership.user_id if membership else None,
        "email": result.email,
        "role": result.role,
        "invitation_expires_at": invitation.expires_at if invitation else None,
    }


class HoursInSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 Monday … 6 Sunday.")
    start = api.WallTimeField()
    end = api.WallTimeField(help_text="00:00:00 is the end of the day (midnight).")


class HolidayInSerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=100, allow_blank=True, default="")


class CalendarInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    timezone = serializers.CharField(max_length=64, help_text="IANA zone, e.g. Europe/Berlin.")
    holiday_country = serializers.CharField(max_length=2, allow_blank=True, default="")
    holiday_subdivision = serializers.CharField(max_length=10, allow_blank=True, default="")
    hours = HoursInSerializer(many=True, help_text="The whole week; a day not listed is off.")
    holidays = HolidayInSerializer(many=True, default=list, help_text="The calendar's own dates.")


class CalendarUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    holiday_country = serializers.CharField(max_length=2, allow_blank=True, required=False)
    holiday_subdivision = serializers.CharField(max_length=10, allow_blank=True, required=False)
    hours = HoursInSerializer(many=True, required=False, help_text="Replaces the whole week.")
    holidays = HolidayInSerializer(
        many=True, required=False, help_text="Replaces the calendar's own dates."
    )


class RejectionReasonSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(
        source="team_id", allow_null=True, help_text="Null: on every sales team's list."
    )

    class Meta:
        model = RejectionReason
        fields = ["id", "team", "code", "label", "is_active", "order"]
        read_only_fields = fields


class RejectionReasonInSerializer(serializers.Serializer):
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(side=Side.SALES),
        allow_null=True,
        help_text="The sales team; null: every sales team (staff).",
    )
    code = serializers.SlugField(max_length=50, help_text="Used by the API and imports.")
    label = serializers.CharField(max_length=150)
    order = serializers.IntegerField(min_value=0, max_value=32767, default=0)


class RejectionReasonUpdateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=150, required=False)
    order = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    is_active = serializers.BooleanField(required=False, help_text="False: off the list.")


def _valid(serializer_class, request: Request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# Views --------------------------------------------------------------------------------------

TAGS = ["provisioning"]


class TeamViewSet(api.TeamViewSet):
    """Teams: read by their members and partners; created by staff; changed, and their
    members added, invited, re-roled and removed, by staff or the team's managers."""

    @extend_schema(
        summary="Create a team (staff)",
        request=TeamInSerializer,
        responses={201: api.TeamSerializer, 422: KEY_REUSED},
        parameters=[KEY_HEADER],
        tags=TAGS,
    )
    def create(self, request: Request) -> Response:
        def make() -> Response:
            team = provisioning.team_create(user=request.user, **_valid(TeamInSerializer, request))
            return Response(api.TeamSerializer(team).data, status=status.HTTP_201_CREATED)

        return idempotent(request, make)

    @extend_schema(
        summary="Rename a team or change its time zone or calendar",
        request=TeamUpdateSerializer,
        responses={200: api.TeamSerializer},
        tags=TAGS,
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        team = self.get_object()
        provisioning.team_update(
            user=request.user, team=team, **_valid(TeamUpdateSerializer, request)
        )
        return Response(api.TeamSerializer(self.get_queryset().get(pk=team.pk)).data)

    @extend_schema(
        summary="Add a member, or invite one by email",
        request=MemberInSerializer,
        responses={201: MemberOutSerializer, 200: MemberOutSerializer, 422: KEY_REUSED},
        parameters=[KEY_HEADER],
        tags=TAGS,
    )
    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request: Request, pk=None) -> Response:
        team = self.get_object()

        def add() -> Response:
            result = provisioning.member_add(
                user=request.user,
                team=team,
                now=timezone.now(),
                **_valid(MemberInSerializer, request),
            )
            code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
            return Response(MemberOutSerializer(member_data(result)).data, status=code)

        return idempotent(request, add)

    @extend_schema(
        summary="Change a member's role, or take them out of the team",
        request=RoleSerializer,
        responses={200: MemberOutSerializer, 204: None},
        parameters=[OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        tags=TAGS,
    )
    @action(detail=True, methods=["patch", "delete"], url_path=r"members/(?P<user_id>[0-9]{1,18})")
    def member(self, request: Request, pk=None, user_id=None) -> Response:
        from agreements.services import membership_change_role, membership_remove

        team = self.get_object()
        access.require_team_manager(request.user, team)
        membership = get_object_or_404(
            Membership.objects.select_related("user"), team=team, user_id=user_id
        )
        if request.method == "DELETE":
            membership_remove(team=team, user=membership.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        role = _valid(RoleSerializer, request)["role"]
        membership = membership_change_role(
            user=request.user, team=team, member=membership.user, role=role
        )
        result = provisioning.MemberResult(membership.user.email, role, membership=membership)
        return Response(MemberOutSerializer(member_data(result)).data)


class CalendarViewSet(api.CalendarViewSet):
    """Business calendars: created by staff; hours, public and own holidays changed by staff
    or a manager of the teams the calendar times; name and time zone by staff."""

    @extend_schema(
        summary="Create a business calendar with its hours and holidays (staff)",
        request=CalendarInSerializer,
        responses={201: api.CalendarSerializer, 422: KEY_REUSED},
        parameters=[KEY_HEADER],
        tags=TAGS,
    )
    def create(self, request: Request) -> Response:
        def make() -> Response:
            calendar = provisioning.calendar_create(
                user=request.user, **_valid(CalendarInSerializer, request)
            )
            return Response(self._out(calendar.pk), status=status.HTTP_201_CREATED)

        return idempotent(request, make)

    @extend_schema(
        summary="Change a calendar: hours, holidays, public holidays (name, zone: staff)",
        request=CalendarUpdateSerializer,
        responses={200: api.CalendarSerializer},
        tags=TAGS,
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        calendar = self.get_object()
        provisioning.calendar_update(
            user=request.user, calendar=calendar, **_valid(CalendarUpdateSerializer, request)
        )
        return Response(self._out(calendar.pk))

    def _out(self, pk: int) -> dict:
        calendar = BusinessCalendar.objects.prefetch_related("hours", "custom_holidays").get(pk=pk)
        return api.CalendarSerializer(calendar).data


class RejectionReasonViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Rejection reasons: a sales team's list (kept by its managers) and the reasons of
    every sales team (kept by staff)."""

    serializer_class = RejectionReasonSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RejectionReason.objects.none()
        return access.rejection_reasons_visible_to(self.request.user).order_by(
            "team_id", "order", "label", "pk"
        )

    @extend_schema(
        summary="Add a rejection reason",
        request=RejectionReasonInSerializer,
        responses={201: RejectionReasonSerializer, 422: KEY_REUSED},
        parameters=[KEY_HEADER],
        tags=TAGS,
    )
    def create(self, request: Request) -> Response:
        def make() -> Response:
            reason = provisioning.rejection_reason_create(
                user=request.user, **_valid(RejectionReasonInSerializer, request)
            )
            return Response(RejectionReasonSerializer(reason).data, status=status.HTTP_201_CREATED)

        return idempotent(request, make)

    @extend_schema(
        summary="Relabel, reorder, or take a reason off (or back on) the list",
        request=RejectionReasonUpdateSerializer,
        responses={200: RejectionReasonSerializer},
        tags=TAGS,
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        reason = provisioning.rejection_reason_update(
            user=request.user,
            reason=self.get_object(),
            **_valid(RejectionReasonUpdateSerializer, request),
        )
        return Response(RejectionReasonSerializer(reason).data)
