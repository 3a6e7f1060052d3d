"""GET /api/v1/me/: who the caller is, his teams, roles and rights, as the access rules
answer them (agreements.access.rights_of)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from agreements.models import Membership
from tests.factories import make_user

pytestmark = pytest.mark.services

NONE = {
    "work_leads": False,
    "edit_leads": False,
    "reassign_leads": False,
    "contest_rejections": False,
    "change_members": False,
    "sign_agreements": False,
}
NOWHERE = {
    "see_everything": False,
    "run_setup": False,
    "edit_rejection_reasons": False,
    "configure_connectors": False,
    "manage_webhook_sources": False,
}


def test_a_rep_sees_his_team_and_that_he_works_its_leads(
    sla, as_user, django_assert_max_num_queries
):
    sla.rep.first_name, sla.rep.last_name = "Rita", "Rep"
    sla.rep.save()
    client = as_user(sla.rep)
    with django_assert_max_num_queries(8):
        answer = client.get("/api/v1/me/")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "id": sla.rep.pk,
        "username": "rep",
        "email": sla.rep.email,
        "name": "Rita Rep",
        "is_staff": False,
        "roles": ["rep"],
        "teams": [
            {
                "id": sla.sales.pk,
                "name": "Sales",
                "side": "sales",
                "role": "member",
                "can": {**NONE, "work_leads": True, "edit_leads": True},
            }
        ],
        "can": NOWHERE,
    }


def test_a_manager_of_both_sides_has_both_roles_and_manages_each_team(sla, as_user):
    Membership.objects.create(
        team=sla.marketing, user=sla.sales_manager, role=Membership.Role.MANAGER
    )
    body = as_user(sla.sales_manager).get("/api/v1/me/").json()
    assert body["roles"] == ["marketing_manager", "sales_manager"]
    teams = {t["name"]: (t["role"], t["can"]) for t in body["teams"]}
    manage = {"change_members": True, "sign_agreements": True}
    assert teams == {
        "Marketing": (
            "manager",
            {**NONE, **manage, "edit_leads": True, "contest_rejections": True},
        ),
        "Sales": (
            "manager",
            {**NONE, **manage, "work_leads": True, "edit_leads": True, "reassign_leads": True},
        ),
    }
    assert body["can"] == {**NOWHERE, "edit_rejection_reasons": True, "configure_connectors": True}


def test_staff_without_a_team_sees_everything_and_has_no_team(sla, as_user):
    body = as_user(make_user("ops", is_staff=True)).get("/api/v1/me/").json()
    assert (body["roles"], body["teams"], body["is_staff"]) == (["staff"], [], True)
    assert body["can"] == {
        "see_everything": True,
        "run_setup": False,  # teams exist already
        "edit_rejection_reasons": True,
        "configure_connectors": True,
        "manage_webhook_sources": True,
    }


def test_without_a_token_it_is_a_401_in_the_error_shape(db):
    answer = APIClient().get("/api/v1/me/")
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"
