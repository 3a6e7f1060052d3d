"""Fixtures for the REST API tests: an organisation with an active agreement, clients that
authenticate with real API tokens, and the clock frozen at the `now` fixture."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from agreements.models import Commitment
from integrations.services import api_token_create
from tests.factories import LONG_AGO, activate, add_commitment

Kind = Commitment.Kind


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen(now):
    """The wall clock stands still at `now` (Wednesday 2026-11-25 10:00 Berlin)."""
    with time_machine.travel(now, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sla(org, now, require_postgres):
    """The org's version 1 with sales clocks, active: first touch within 4 business hours,
    3 follow-up attempts a working day apart, disposition within 1 working day."""
    add_commitment(org.version, Kind.FIRST_TOUCH, within="PT4H", clock="business")
    add_commitment(org.version, Kind.FOLLOW_UP, attempts=3, every="P1D", clock="business")
    add_commitment(org.version, Kind.DISPOSITION, within="P1D", clock="business")
    activate(org, now=LONG_AGO)
    return org


def token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def as_user():
    """as_user(user) → an APIClient sending that user's API token."""
    return token_client


@pytest.fixture
def outsider(db):
    """A member of another sales team, with no agreement with the org's teams."""
    from agreements.models import Membership, Side, Team
    from tests.factories import make_user

    team = Team.objects.create(name="Other sales", side=Side.SALES)
    user = make_user("outsider")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MANAGER)
    user.team = team
    return user


HANDED_OFF = "2026-11-25T09:00:00+01:00"  # Wednesday, an hour before `now`


@pytest.fixture
def push_lead(sla, as_user):
    """push_lead(external_id, **fields) → the API's answer to pushing a handed-off lead."""

    def push(external_id: str = "crm-1", client=None, **fields):
        body = {
            "source_system": "crm",
            "external_id": external_id,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "sales_team": sla.sales.pk,
            "marketing_team": sla.marketing.pk,
            "owner": sla.rep.pk,
            "handed_off_at": HANDED_OFF,
            **fields,
        }
        return (client or as_user(sla.marketer)).post("/api/v1/leads/", body, format="json")

    return push
