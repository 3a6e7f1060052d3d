"""Per-user, per-event preferences: immediately, in the digest only, or off."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from agreements.models import Team
from alerts import selectors, services
from alerts.models import Alert, NotificationPreference
from leads import checks
from tests.factories import LONG_AGO, activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def breach_in_berlin(org, now):
    Team.objects.filter(pk=org.sales.pk).update(timezone="Europe/Berlin")
    add_commitment(org.version, "first_touch", within="PT4H", warn_at_pct=None)
    activate(org, now=LONG_AGO)

    def breach():
        make_lead(org, now=berlin(2026, 11, 24, 9), handed_off_at=berlin(2026, 11, 24, 9))
        checks.deadline_scan(now=berlin(2026, 11, 24, 14))

    return breach


def test_defaults_for_a_rep_and_a_manager(org):
    rows = selectors.preferences_for(org.rep)
    assert [row["event"] for row in rows] == [
        "warning",
        "breach",
        "quota_at_risk",
        "quota_missed",
        "escalation",
        "digest",
        "proposal",
        "review",
    ]
    assert {row["event"]: row["mode"] for row in rows} == {
        "warning": "immediate",
        "breach": "immediate",
        "quota_at_risk": "immediate",
        "quota_missed": "immediate",
        "escalation": "immediate",
        "digest": "digest",
        "proposal": "immediate",
        "review": "immediate",
    }
    assert all(row["can_turn_off"] for row in rows)
    assert rows[1] == {
        "event": "breach",
        "label": "Promise breached",
        "mode": "immediate",
        "can_turn_off": True,
        "channels": ["email"],  # by email until the user picks Slack or Teams too
    }
    manager = {
        row["event"]: row["can_turn_off"] for row in selectors.preferences_for(org.sales_manager)
    }
    assert manager == {
        "warning": True,
        "breach": True,
        "quota_at_risk": True,
        "quota_missed": True,
        "escalation": False,
        "digest": True,
        "proposal": True,
        "review": True,
    }


def test_preference_set_stores_one_row_per_user_and_event(org):
    services.preference_set(user=org.rep, event="warning", mode="digest")
    preference = services.preference_set(user=org.rep, event="warning", mode="off")
    assert isinstance(preference, NotificationPreference)
    assert list(NotificationPreference.objects.values_list("event", "mode")) == [("warning", "off")]
    assert selectors.preferences_for(org.rep)[0]["mode"] == "off"


def test_a_manager_cannot_turn_off_escalations(org):
    with pytest.raises(ValidationError) as error:
        services.preference_set(user=org.marketing_manager, event="escalation", mode="off")
    assert error.value.message_dict == {"mode": ["A manager cannot turn off escalations."]}
    assert not NotificationPreference.objects.exists()
    # digest-only is allowed; a rep may turn them off
    services.preference_set(user=org.marketing_manager, event="escalation", mode="digest")
    services.preference_set(user=org.rep, event="escalation", mode="off")


@pytest.mark.parametrize(
    ("event", "mode", "field"),
    [
        ("nonsense", "off", "event"),
        ("breach", "sometimes", "mode"),
        ("digest", "immediate", "mode"),
    ],
)
def test_bad_preferences_are_refused_with_a_field_message(org, event, mode, field):
    with pytest.raises(ValidationError) as error:
        services.preference_set(user=org.rep, event=event, mode=mode)
    assert list(error.value.message_dict) == [field]


def test_a_stored_off_for_escalations_does_not_silence_a_manager(org):
    # Stored before the user became a manager: escalations still reach them.
    NotificationPreference.objects.create(user=org.sales_manager, event="escalation", mode="off")
    assert selectors.modes_for([org.sales_manager.pk], ["escalation"]) == {
        (org.sales_manager.pk, "escalation"): "immediate"
    }


def test_off_means_no_email(org, breach_in_berlin):
    services.preference_set(user=org.sales_manager, event="breach", mode="off")
    breach_in_berlin()
    assert list(Alert.objects.values_list("recipient__username", flat=True)) == ["rep"]


def test_digest_only_holds_the_alert_for_the_next_digest(org, breach_in_berlin):
    services.preference_set(user=org.rep, event="breach", mode="digest")
    breach_in_berlin()
    held = Alert.objects.get(recipient=org.rep)
    assert held.status == "held"
    assert Alert.objects.get(recipient=org.sales_manager).status == "pending"

    # The rep's digest (08:00 in Berlin, the default) lists it; the alert is not sent alone.
    result = services.send_digests(now=berlin(2026, 11, 25, 8, 0))
    assert org.rep.pk in result.users
    digest = Alert.objects.get(recipient=org.rep, event="digest")
    assert held.subject in digest.body_text
    held.refresh_from_db()
    assert (held.status, held.digest) == ("digested", digest)
