"""Alerts reach Slack and Microsoft Teams: a team's breaches and warnings in its channel, a
user's chosen events in their own; each service's answers (as documented) lead to sent,
retried with backoff (or the Retry-After asked), or failed for good with the reason kept;
and every event reaches each destination once, whoever races to send it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from alerts import chat_delivery, services
from alerts.models import Alert, ChannelDelivery, TeamChannel
from audit.models import AuditEvent
from leads import checks
from leads.models import Breach
from tests.chat_fakes import ChatFake, posted_ok
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
HANDED = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)  # due 14:00 (4 business hours)
SCAN = datetime(2026, 11, 25, 14, 12, 30, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def loopback(settings):
    settings.SITE_URL = "https://slahub.example"
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.ALERTS_RETRY_BASE_SECONDS = 30
    settings.ALERTS_RETRY_MAX_SECONDS = 3600


@pytest.fixture
def first_touch(org, now):
    org.sales.timezone = org.marketing.timezone = "Europe/Berlin"
    org.sales.save()
    org.marketing.save()
    add_commitment(
        org.version, "first_touch", within="PT4H", warn_at_pct=75, applies_to={"tier": ["A"]}
    )
    activate(org, now=now)
    return org


def breach_jane(org) -> Breach:
    make_lead(org, now=HANDED, handed_off_at=HANDED, name="Jane Doe", company="Acme", tier="A")
    checks.deadline_scan(now=SCAN)
    return Breach.objects.get()


def slack_team(org, url: str, **fields) -> TeamChannel:
    return services.team_channel_set(
        user=org.sales_manager,
        team=org.sales,
        channel="slack",
        webhook_url=url,
        now=SCAN,
        **fields,
    )


def test_a_breach_is_posted_once_to_the_teams_slack_channel(first_touch):
    org = first_touch
    with ChatFake((200, "ok", {})) as slack:
        slack_team(org, slack.slack_hook)
        breach = breach_jane(org)
        assert str(chat_delivery.deliver_pending(now=SCAN)) == (
            "chat delivery: 1 sent, 0 to retry, 0 given up"
        )
        assert str(chat_delivery.deliver_pending(now=SCAN + timedelta(hours=1))) == (
            "chat delivery: 0 sent, 0 to retry, 0 given up"
        )
        checks.deadline_scan(now=SCAN + timedelta(minutes=5))  # the same breach seen again
        chat_delivery.deliver_pending(now=SCAN + timedelta(minutes=5))
    assert len(slack.requests) == 1
    path, headers, body = slack.requests[0]
    assert path == "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
    assert body["text"] == "First touch overdue by 12 min: Jane Doe, Acme — Tier A"
    section = body["blocks"][0]["text"]["text"]
    assert "Sales will make a first touch on every Tier A lead within 4 business hours" in section
    assert "Hello" not in section  # a channel is not greeted like a person
    button = body["blocks"][1]["elements"][0]
    assert button["url"] == f"https://slahub.example/breaches/{breach.pk}/"
    row = ChannelDelivery.objects.get()
    assert (row.status, row.attempts, row.sent_at, row.last_status_code) == ("sent", 1, SCAN, 200)
    # The people still get their emails: the channel is in addition.
    assert Alert.objects.filter(event="breach").count() == 2


@pytest.mark.parametrize(
    "status, reason",
    [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ],
)
def test_slack_refusals_are_failed_at_once_with_slacks_reason(first_touch, status, reason):
    with ChatFake((status, reason, {})) as slack:
        slack_team(first_touch, slack.slack_hook)
        breach_jane(first_touch)
        result = chat_delivery.deliver_pending(now=SCAN)
        chat_delivery.deliver_pending(now=SCAN + timedelta(days=1))  # never tried again
    assert (result.sent, result.retrying, result.failed) == (0, 0, 1)
    assert len(slack.requests) == 1
    row = ChannelDelivery.objects.get()
    assert (row.status, row.last_status_code, row.last_error) == (
        "failed",
        status,
        f"HTTP {status}: {reason}",
    )


def test_slack_throttling_waits_as_long_as_slack_asks_then_sends(first_touch):
    org = first_touch
    with ChatFake((429, "too_many_requests", {"Retry-After": "120"}), (200, "ok", {})) as slack:
        slack_team(org, slack.slack_hook)
        breach_jane(org)
        first = chat_delivery.deliver_pending(now=SCAN)
        row = ChannelDelivery.objects.get()
        # Retry-After (120 s) is longer than the first backoff (30 s): Slack's wait wins.
        assert (row.status, row.next_attempt_at) == ("pending", SCAN + timedelta(seconds=120))
        assert row.last_error == "HTTP 429: too_many_requests"
        early = chat_delivery.deliver_pending(now=SCAN + timedelta(seconds=119))
        late = chat_delivery.deliver_pending(now=SCAN + timedelta(seconds=120))
    assert (first.retrying, early.sent, late.sent) == (1, 0, 1)
    assert len(slack.requests) == 2
    assert ChannelDelivery.objects.get().status == "sent"


def test_a_slack_outage_is_retried_with_the_outbox_backoff(first_touch):
    with ChatFake((500, "rollup_error", {}), (503, "", {}), (200, "ok", {})) as slack:
        slack_team(first_touch, slack.slack_hook)
        breach_jane(first_touch)
        chat_delivery.deliver_pending(now=SCAN)
        assert ChannelDelivery.objects.get().next_attempt_at == SCAN + timedelta(seconds=30)
        chat_delivery.deliver_pending(now=SCAN + timedelta(seconds=30))
        # second failure: 2 × 30 s after the second try
        assert ChannelDelivery.objects.get().next_attempt_at == SCAN + timedelta(seconds=90)
        chat_delivery.deliver_pending(now=SCAN + timedelta(seconds=90))
    row = ChannelDelivery.objects.get()
    assert (row.status, row.attempts, len(slack.requests)) == ("sent", 3, 3)


def test_a_bot_token_posts_with_chat_post_message(first_touch, settings):
    org = first_touch
    with ChatFake((200, posted_ok(), {})) as api:
        settings.SLACK_API_BASE_URL = f"{api.base}/api/"
        services.team_channel_set(
            user=org.sales_manager,
            team=org.sales,
            channel="slack",
            bot_token="xoxb-1111-2222-abcdefabcdef",
            slack_channel="C0123456789",
            now=SCAN,
        )
        breach_jane(org)
        assert chat_delivery.deliver_pending(now=SCAN).sent == 1
    (stored,) = TeamChannel.objects.values_list("sealed_bot_token", flat=True)
    assert stored and "xoxb" not in stored  # encrypted at rest, like the CRM credentials
    path, headers, body = api.requests[0]
    assert path == "/api/chat.postMessage"
    assert headers["Authorization"] == "Bearer xoxb-1111-2222-abcdefabcdef"
    assert body["channel"] == "C0123456789"
    assert body["text"] == "First touch overdue by 12 min: Jane Doe, Acme — Tier A"


def test_chat_post_message_errors_are_permanent_or_retried_as_slack_means_them(
    first_touch, settings
):
    org = first_touch
    answers = [
        (200, {"ok": False, "error": "channel_not_found"}, {}),
    ]
    with ChatFake(*answers) as api:
        settings.SLACK_API_BASE_URL = f"{api.base}/api/"
        services.team_channel_set(
            user=org.sales_manager,
            team=org.sales,
            channel="slack",
            bot_token="xoxb-1111-2222-abcdefabcdef",
            slack_channel="C0000000000",
            now=SCAN,
        )
        breach_jane(org)
        assert chat_delivery.deliver_pending(now=SCAN).failed == 1
    row = ChannelDelivery.objects.get()
    assert (row.status, row.last_error) == ("failed", "chat.postMessage: channel_not_found")

    ChannelDelivery.objects.update(status="pending", next_attempt_at=SCAN)
    limited = (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "60"})
    with ChatFake(limited) as api:
        settings.SLACK_API_BASE_URL = f"{api.base}/api/"
        assert chat_delivery.deliver_pending(now=SCAN).retrying == 1
    row = ChannelDelivery.objects.get()
    assert (row.status, row.next_attempt_at) == ("pending", SCAN + timedelta(seconds=60))
    assert row.last_error == "chat.postMessage: ratelimited"


def test_teams_gets_an_adaptive_card_and_its_refusals_are_kept(first_touch):
    org = first_touch
    with ChatFake((200, "1", {})) as teams:
        services.team_channel_set(
            user=org.sales_manager,
            team=org.sales,
            channel="teams",
            webhook_url=teams.teams_hook,
            now=SCAN,
        )
        breach = breach_jane(org)
        assert chat_delivery.deliver_pending(now=SCAN).sent == 1
    _, headers, body = teams.requests[0]
    assert headers["Content-Type"] == "application/json"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["body"][0]["text"] == "First touch overdue by 12 min: Jane Doe, Acme — Tier A"
    assert card["actions"][0]["url"] == f"https://slahub.example/breaches/{breach.pk}/"

    ChannelDelivery.objects.update(status="pending", next_attempt_at=SCAN)
    with ChatFake((404, "Webhook not found", {})) as gone:
        TeamChannel.objects.update(webhook_url=gone.teams_hook)
        assert chat_delivery.deliver_pending(now=SCAN).failed == 1
    row = ChannelDelivery.objects.get()
    assert (row.status, row.last_error) == ("failed", "HTTP 404: Webhook not found")

    ChannelDelivery.objects.update(status="pending", next_attempt_at=SCAN)
    throttled = "Microsoft Teams endpoint returned HTTP error 429 with ContextId …"
    with ChatFake((200, throttled, {})) as busy:
        TeamChannel.objects.update(webhook_url=busy.teams_hook)
        assert chat_delivery.deliver_pending(now=SCAN).retrying == 1
    assert ChannelDelivery.objects.get().status == "pending"


def test_a_user_can_take_breaches_in_slack_instead_of_email(first_touch):
    org = first_touch
    with ChatFake((200, "ok", {})) as slack:
        services.notification_channels_set(user=org.rep, slack_webhook_url=slack.slack_hook)
        services.preference_channels_set(user=org.rep, event="breach", channels=["slack"])
        breach_jane(org)
        chat_delivery.deliver_pending(now=SCAN)
    assert set(Alert.objects.values_list("recipient__username", flat=True)) == {"sales_manager"}
    row = ChannelDelivery.objects.get()
    assert (row.recipient, row.channel, row.status) == (org.rep, "slack", "sent")
    assert len(slack.requests) == 1


def test_a_chat_channel_needs_its_destination_first(first_touch):
    with pytest.raises(ValidationError, match="Add your Microsoft Teams webhook URL first"):
        services.preference_channels_set(user=first_touch.rep, event="breach", channels=["teams"])


def test_agreement_proposals_come_by_email_only(first_touch):
    from tests.chat_fakes import ChatFake as Fake

    with Fake() as slack:
        services.notification_channels_set(user=first_touch.rep, slack_webhook_url=slack.slack_hook)
        with pytest.raises(ValidationError, match="come by email only"):
            services.preference_channels_set(
                user=first_touch.rep, event="proposal", channels=["slack"]
            )


def test_no_channel_at_all_is_refused_so_a_manager_keeps_escalations(first_touch):
    with pytest.raises(ValidationError, match="Choose at least one channel"):
        services.preference_channels_set(
            user=first_touch.sales_manager, event="escalation", channels=[]
        )


def test_only_the_teams_managers_or_staff_set_its_channel_and_it_is_audited(first_touch):
    org = first_touch
    hook = "http://127.0.0.1:9/services/T000/B000/SECRETSECRETSECRET1234"
    with pytest.raises(PermissionDenied):
        services.team_channel_set(
            user=org.rep, team=org.sales, channel="slack", webhook_url=hook, now=SCAN
        )
    with pytest.raises(PermissionDenied):  # a manager of the other team
        services.team_channel_set(
            user=org.marketing_manager, team=org.sales, channel="slack", webhook_url=hook, now=SCAN
        )
    slack_team(org, hook)
    event = AuditEvent.objects.get(action="team_channel.set")
    assert event.actor == org.sales_manager
    assert list(event.teams.values_list("pk", flat=True)) == [org.sales.pk]
    assert event.changes["after"]["webhook_url"] == "http://127.0.0.1:9/…1234"
    assert "SECRETSECRET" not in str(event.changes)
    # Saving again without a new URL keeps the stored one (the page never shows it back).
    services.team_channel_set(
        user=org.sales_manager, team=org.sales, channel="slack", events=["breach"], now=SCAN
    )
    assert TeamChannel.objects.get().webhook_url == hook
    assert TeamChannel.objects.get().events == ["breach"]


def test_a_private_address_is_refused_for_a_team_channel(first_touch, settings):
    settings.SLAHUB_WEBHOOK_ALLOW_HOSTS = []
    with pytest.raises(ValidationError):
        slack_team(first_touch, "http://127.0.0.1:9/services/T000/B000/X")


def test_two_deliverers_at_once_post_each_message_once(
    transactional_db, require_postgres, first_touch
):
    """Two beat runs (or a run_checks beside the worker) racing on the chat outbox."""
    org = first_touch
    with ChatFake((200, "ok", {}), delay=0.2) as slack:
        slack_team(org, slack.slack_hook)
        for n in range(4):
            make_lead(org, now=HANDED, handed_off_at=HANDED, name=f"Lead {n}", tier="A")
        checks.deadline_scan(now=SCAN)
        assert ChannelDelivery.objects.count() == 4
        start = threading.Barrier(2)
        results = []

        def deliverer() -> None:
            try:
                start.wait()
                results.append(chat_delivery.deliver_batch(now=SCAN, limit=2))
                results.append(chat_delivery.deliver_batch(now=SCAN, limit=2))
            finally:
                connection.close()

        threads = [threading.Thread(target=deliverer) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sum(r.sent for r in results) == 4
    assert len(slack.requests) == 4
    assert len({body["text"] for _, _, body in slack.requests}) == 4
    assert set(ChannelDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_deliverer_that_died_holding_a_message_loses_nothing(first_touch):
    """It claimed the row and vanished: after the lease the next run sends it, once."""
    from alerts import outbox

    with ChatFake((200, "ok", {})) as slack:
        slack_team(first_touch, slack.slack_hook)
        breach_jane(first_touch)
        outbox.claim_batch(ChannelDelivery, now=SCAN, limit=10, lease_seconds=600)
        assert chat_delivery.deliver_pending(now=SCAN + timedelta(seconds=599)).sent == 0
        assert chat_delivery.deliver_pending(now=SCAN + timedelta(seconds=600)).sent == 1
    assert len(slack.requests) == 1
    assert ChannelDelivery.objects.get().attempts == 2


def chat_queries(org, slack, leads: int) -> tuple[int, int]:
    """(sent, queries) of one chat batch after `leads` breaches posted to the team channel
    and to the rep's own Slack."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ChannelDelivery.objects.all().delete()
    Breach.objects.all().delete()
    for n in range(leads):
        make_lead(org, now=HANDED, handed_off_at=HANDED, name=f"Lead {leads}-{n}", tier="A")
    checks.deadline_scan(now=SCAN)
    with CaptureQueriesContext(connection) as queries:
        result = chat_delivery.deliver_batch(now=SCAN, limit=100)
    return result.sent, len(queries)


def test_a_chat_batch_costs_a_constant_plus_one_mark_per_message(first_touch):
    org = first_touch
    with ChatFake((200, "ok", {})) as slack:
        slack_team(org, slack.slack_hook)
        services.notification_channels_set(user=org.rep, slack_webhook_url=slack.slack_hook)
        services.preference_channels_set(user=org.rep, event="breach", channels=["slack"])
        two, two_queries = chat_queries(org, slack, 1)  # the team's post and the rep's
        eight, eight_queries = chat_queries(org, slack, 4)
    assert (two, eight) == (2, 8)
    # claim, read, destinations and zones: a constant; then one UPDATE per message sent
    assert eight_queries - two_queries == 6
    assert two_queries == 8 + 2


def test_a_team_channel_carries_the_events_it_was_set_for(first_touch):
    org = first_touch
    warn = datetime(2026, 11, 25, 13, 12, tzinfo=BERLIN)  # due 14:00, warned from 13:00
    with ChatFake((200, "ok", {})) as slack:
        slack_team(org, slack.slack_hook, events=["warning"])
        make_lead(org, now=HANDED, handed_off_at=HANDED, name="Jane Doe", company="Acme", tier="A")
        checks.deadline_scan(now=warn)
        checks.deadline_scan(now=SCAN)  # the breach: not wanted in this channel
        chat_delivery.deliver_pending(now=SCAN)
    assert list(ChannelDelivery.objects.values_list("event", "status")) == [("warning", "sent")]
    assert [body["text"] for _, _, body in slack.requests] == [
        "First touch due in 48 min: Jane Doe, Acme — Tier A"
    ]


def test_a_celery_worker_killed_mid_post_loses_and_doubles_nothing(
    transactional_db, require_postgres, first_touch, settings, tmp_path
):
    """A real Celery worker runs `deliver_alerts`; Slack hangs on the second post and the
    worker is killed (SIGKILL) there. What was posted stays sent; the rows it held are posted
    by the next run once their lease has expired: each message reaches Slack once."""
    import os
    import subprocess
    import sys
    import uuid
    from collections import Counter
    from pathlib import Path

    from django.utils import timezone

    from alerts import tasks
    from slahub.celery import app
    from tests.conftest import redis_url
    from tests.test_alerts_crash import database_url

    org = first_touch
    for user in (org.rep, org.sales_manager):  # only the team channel: no email in the way
        services.preference_set(user=user, event="breach", mode="off")
    broker = redis_url()
    queue = f"chat-crash-{uuid.uuid4().hex[:8]}"
    with ChatFake((200, "ok", {}), stall_at=2) as slack:
        slack_team(org, slack.slack_hook)
        for n in range(4):
            make_lead(org, now=HANDED, handed_off_at=HANDED, name=f"Lead {n}", tier="A")
        checks.deadline_scan(now=SCAN)
        assert ChannelDelivery.objects.count() == 4
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "slahub.settings",
            "SECRET_KEY": "crash-test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker,
            "SLAHUB_VAR_DIR": str(tmp_path),
            "SLAHUB_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
            "SITE_URL": "https://slahub.example",
            "LOG_LEVEL": "ERROR",
        }
        command = [sys.executable, "-m", "celery", "-A", "slahub", "worker", "--pool=solo"]
        command += ["-Q", queue, "--without-mingle", "--without-gossip", "--loglevel=ERROR"]
        root = Path(__file__).resolve().parent.parent
        worker = subprocess.Popen(command, cwd=root, env=env)
        try:
            app.conf.update(broker_url=broker, broker_transport_options={})
            tasks.deliver_alerts.apply_async(queue=queue)
            assert slack.stalled.wait(timeout=60), "the worker never reached the second post"
            worker.kill()
        finally:
            worker.kill()
            worker.wait(timeout=30)
        killed = Counter(ChannelDelivery.objects.values_list("status", flat=True))
        assert killed == {"sent": 1, "sending": 3}
        slack.release.set()
        lease = timedelta(seconds=settings.ALERTS_LEASE_SECONDS)
        assert chat_delivery.deliver_pending(now=timezone.now()).sent == 0  # still leased
        assert chat_delivery.deliver_pending(now=timezone.now() + lease).sent == 3
    texts = Counter(body["text"] for _, _, body in slack.requests)
    assert len(texts) == 4 and set(texts.values()) == {1}
    attempts = Counter(ChannelDelivery.objects.values_list("attempts", flat=True))
    assert attempts == {1: 1, 2: 3}
