"""An organisation with a signed agreement (first touch within 1 h, disposition within 5 days,
calendar time) and the integration user the connectors act as."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agreements.models import Commitment, Membership
from tests.factories import LONG_AGO, activate, add_commitment, make_user

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(org):
    add_commitment(org.version, Commitment.Kind.FIRST_TOUCH, within="PT1H", clock="calendar")
    add_commitment(org.version, Commitment.Kind.DISPOSITION, within="P5D", clock="calendar")
    activate(org, now=LONG_AGO)
    bot = make_user("crm_bot")
    Membership.objects.create(team=org.sales, user=bot, role=Membership.Role.MANAGER)
    org.bot = bot
    return org
