"""The notification settings page with its chat parts (channels per event, the user's own
Slack and Teams, a team's channel) is accessible in a real Chromium, under the CSP, and a
manager sets the team's Slack channel through it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.models import TeamChannel
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    return demo_org(timezone.now())


def test_a_manager_sets_the_teams_slack_channel_on_an_accessible_page(demo, open_page, live_server):
    org, _ = demo
    page = open_page(org.sales_manager)
    page.goto(f"{live_server.url}/settings/notifications/")
    page.locator("#team-channels").wait_for()
    assert_accessible(page)
    form = page.locator("form", has=page.get_by_role("heading", name=org.sales.name))
    form.get_by_label("Channel", exact=True).select_option("slack")
    form.get_by_label("Incoming-webhook URL").fill(
        "http://127.0.0.1:9/services/T000/B000/SECRETSECRETSECRET1234"
    )
    form.get_by_role("button", name=f"Save {org.sales.name}'s channel").click()
    page.get_by_text(f"{org.sales.name}: chat channel saved.").wait_for()
    assert TeamChannel.objects.get(team=org.sales).channel == "slack"
    assert "SECRETSECRET" not in page.content()
    assert_accessible(page)
    screenshot(page, "settings-notifications-channels.png")
