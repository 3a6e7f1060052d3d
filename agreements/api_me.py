"""GET /api/v1/me/: who the caller is, his teams and roles, and what he may do — the
access module's answers (agreements.access.rights_of), for integrations and UIs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from agreements import access
from agreements.models import Membership, Side


class TeamRightsSerializer(serializers.Serializer):
    work_leads = serializers.BooleanField(help_text="Log touches, accept or reject its leads.")
    edit_leads = serializers.BooleanField(help_text="Change, hand off or move its leads.")
    reassign_leads = serializers.BooleanField(help_text="Change its leads' owner.")
    contest_rejections = serializers.BooleanField(help_text="Contest sales' rejections.")
    change_members = serializers.BooleanField(help_text="Invite, change roles, remove members.")
    sign_agreements = serializers.BooleanField(help_text="Sign agreements for this side.")


class MyTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="team.pk")
    name = serializers.CharField(source="team.name")
    side = serializers.ChoiceField(choices=Side.choices, source="team.side")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    can = TeamRightsSerializer()


class RightsSerializer(serializers.Serializer):
    see_everything = serializers.BooleanField(help_text="Staff: every team's data.")
    run_setup = serializers.BooleanField(help_text="The first-run setup (no team yet).")
    edit_rejection_reasons = serializers.BooleanField()
    configure_connectors = serializers.BooleanField()
    manage_webhook_sources = serializers.BooleanField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(help_text="An email address, or empty.")
    name = serializers.CharField(help_text="Full name, or empty.")
    is_staff = serializers.BooleanField()
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=[*access.ROLE_NAMES.values(), "staff"]),
        help_text="rep, sales_manager, marketer, marketing_manager (from the memberships), staff.",
    )
    teams = MyTeamSerializer(many=True)
    can = RightsSerializer()


class MeView(APIView):
    @extend_schema(summary="Who you are: your teams, roles and rights", responses=MeSerializer)
    def get(self, request):
        user = request.user
        rights = access.rights_of(user)
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "name": user.get_full_name(),
            "is_staff": user.is_staff,
            **rights,
        }
        return Response(MeSerializer(data).data)
