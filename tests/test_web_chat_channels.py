"""The notification settings page sets where alerts go: channels per event, the user's own
Slack and Teams webhooks, and (for a team's managers or staff) the team's chat channel —
with every saved secret shown back masked, never in full."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import NotificationPreference, NotificationSettings, TeamChannel
from audit.models import AuditEvent

SLACK = "http://127.0.0.1:9/services/T000/B000/SECRETSECRETSECRET1234"
TEAMS = "http://127.0.0.1:9/webhookb2/abc/IncomingWebhook/SECRETSECRET9876"


@pytest.fixture(autouse=True)
def loopback(settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]


def test_a_user_adds_a_slack_webhook_and_takes_breaches_there(
    client, org, django_assert_max_num_queries
):
    client.force_login(org.rep)
    page = client.get(reverse("settings-notifications")).content.decode()
    # Slack cannot be ticked before there is a destination for it.
    assert 'name="channels-breach" value="slack"  disabled' in page.replace("\n", "")

    client.post(reverse("settings-chat-destinations"), {"slack_webhook_url": SLACK})
    assert NotificationSettings.objects.get(user=org.rep).slack_webhook_url == SLACK
    response = client.post(
        reverse("settings-notifications"),
        {"channels-shown": "1", "mode-breach": "immediate", "channels-breach": ["slack"]}
        | {f"channels-{e}": ["email"] for e in ("warning", "quota_at_risk", "quota_missed")}
        | {f"channels-{e}": ["email"] for e in ("escalation", "proposal")},
        follow=True,
    )
    assert "Notification preferences saved (1 changed)." in response.content.decode()
    assert NotificationPreference.objects.get(user=org.rep, event="breach").channels == ["slack"]

    with django_assert_max_num_queries(14):
        page = client.get(reverse("settings-notifications")).content.decode()
    assert "http://127.0.0.1:9/…1234" in page  # recognisable …
    assert "SECRETSECRET" not in page  # … never usable


def test_a_blank_secret_keeps_the_saved_one_and_the_box_clears_it(client, org):
    client.force_login(org.rep)
    client.post(reverse("settings-chat-destinations"), {"teams_webhook_url": TEAMS})
    client.post(reverse("settings-chat-destinations"), {"teams_webhook_url": ""})
    assert NotificationSettings.objects.get(user=org.rep).teams_webhook_url == TEAMS
    client.post(reverse("settings-chat-destinations"), {"clear-teams_webhook_url": "1"})
    assert NotificationSettings.objects.get(user=org.rep).teams_webhook_url == ""


def test_a_manager_sets_the_teams_slack_channel_on_the_page(
    client, org, django_assert_max_num_queries
):
    client.force_login(org.sales_manager)
    response = client.post(
        reverse("settings-team-channel", args=[org.sales.pk]),
        {
            "channel": "slack",
            "webhook_url": SLACK,
            "events": ["breach", "warning"],
            "is_active": "1",
        },
        follow=True,
    )
    assert f"{org.sales.name}: chat channel saved." in response.content.decode()
    tc = TeamChannel.objects.get(team=org.sales)
    assert (tc.channel, tc.webhook_url, tc.events, tc.is_active) == (
        "slack",
        SLACK,
        ["breach", "warning"],
        True,
    )
    assert AuditEvent.objects.filter(action="team_channel.set").count() == 1
    with django_assert_max_num_queries(14):
        page = client.get(reverse("settings-notifications")).content.decode()
    assert org.sales.name in page and "SECRETSECRET" not in page
    assert org.marketing.name not in page[page.index('id="team-channels"') :]


def test_a_rep_cannot_set_a_team_channel(client, org):
    client.force_login(org.rep)
    page = client.get(reverse("settings-notifications")).content.decode()
    assert 'id="team-channels"' not in page
    response = client.post(
        reverse("settings-team-channel", args=[org.sales.pk]),
        {"channel": "slack", "webhook_url": SLACK},
    )
    assert response.status_code == 403
    assert not TeamChannel.objects.exists()


def test_a_bad_team_channel_says_why(client, org):
    client.force_login(org.sales_manager)
    response = client.post(
        reverse("settings-team-channel", args=[org.sales.pk]),
        {"channel": "slack", "bot_token": "xoxb-1-2-abcdef", "events": ["breach"]},
        follow=True,
    )
    assert "With a bot token, enter the channel id." in response.content.decode()
    assert not TeamChannel.objects.exists()
