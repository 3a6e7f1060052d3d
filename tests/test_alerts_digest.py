"""The daily digest: at the user's local hour, in their time zone, once a day."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alerts import services
from alerts.models import Alert
from leads import checks
from tests.factories import activate, add_commitment, make_lead

BERLIN, UTC = ZoneInfo("Europe/Berlin"), ZoneInfo("UTC")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def day(org, now, settings):
    """On Tue 24 Nov: lead A breached (due 14:00 Berlin); leads B (rep) and C (rep2) are
    due on Wed 25 Nov at 12:00 and 12:30 Berlin. The rep reads email in Berlin, rep2 in
    New York; the others fall back to their team's zone (UTC here)."""
    settings.SITE_URL = "https://slahub.example"
    add_commitment(org.version, "first_touch", within="PT4H", warn_at_pct=None)
    activate(org, now=berlin(2026, 11, 1))
    services.notification_settings_set(user=org.rep, timezone="Europe/Berlin", digest_hour=8)
    services.notification_settings_set(user=org.rep2, timezone="America/New_York", digest_hour=8)
    leads = {
        "A": make_lead(org, now=berlin(2026, 11, 24, 10), handed_off_at=berlin(2026, 11, 24, 10)),
        "B": make_lead(org, now=berlin(2026, 11, 24, 16), handed_off_at=berlin(2026, 11, 24, 16)),
        "C": make_lead(
            org,
            now=berlin(2026, 11, 24, 16, 30),
            handed_off_at=berlin(2026, 11, 24, 16, 30),
            owner=org.rep2,
        ),
    }
    checks.deadline_scan(now=berlin(2026, 11, 24, 15))
    Alert.objects.all().delete()  # the breach alerts themselves are not under test here
    return leads


def digests() -> dict[str, Alert]:
    return {a.recipient.username: a for a in Alert.objects.filter(event="digest")}


def test_each_user_gets_the_digest_at_their_local_hour_once(org, day):
    assert services.send_digests(now=utc(2026, 11, 25, 6, 59)).users == []

    # 07:00 UTC is 08:00 in Berlin: only the rep.
    assert services.send_digests(now=utc(2026, 11, 25, 7, 0)).users == [org.rep.pk]
    assert services.send_digests(now=utc(2026, 11, 25, 7, 15)).users == []

    # 08:00 UTC: the users on their team's zone (UTC).
    result = services.send_digests(now=utc(2026, 11, 25, 8, 0))
    assert set(result.users) == {org.sales_manager.pk, org.marketing_manager.pk, org.marketer.pk}
    assert (result.sent, result.empty) == (1, 2)  # marketing has nothing due or breached

    # 13:00 UTC is 08:00 in New York: rep2.
    assert services.send_digests(now=utc(2026, 11, 25, 12, 59)).users == []
    assert services.send_digests(now=utc(2026, 11, 25, 13, 0)).users == [org.rep2.pk]
    assert services.send_digests(now=utc(2026, 11, 25, 23, 59)).users == []

    sent = digests()
    assert sent["rep"].key == "digest:2026-11-25"
    assert sent["rep2"].key == "digest:2026-11-25"
    assert (sent["marketer"].status, sent["rep"].status) == ("skipped", "pending")

    # The next local day starts a new digest: Berlin's 26 Nov at 07:00 UTC.
    assert services.send_digests(now=utc(2026, 11, 26, 7, 0)).users == [org.rep.pk]


def test_the_digest_lists_due_today_and_breached_yesterday_in_local_time(org, day):
    services.send_digests(now=utc(2026, 11, 25, 7, 0))
    services.send_digests(now=utc(2026, 11, 25, 8, 0))
    services.send_digests(now=utc(2026, 11, 25, 13, 0))
    sent = digests()

    rep = sent["rep"]
    assert rep.subject == "Your SLA digest for Wed 25 Nov 2026: 1 due today, 1 breached yesterday"
    assert f"- 12:00  First touch: {day['B'].name} (rep)" in rep.body_text
    assert f"https://slahub.example/leads/{day['B'].pk}/" in rep.body_text
    breach = day["A"].breaches.get()
    assert f"- First touch: {day['A'].name}, due Tue 24 Nov 2026, 14:00 CET" in rep.body_text
    assert f"https://slahub.example/breaches/{breach.pk}/" in rep.body_text

    # The manager sees the team's clocks, in UTC; rep2 sees C in New York time.
    manager = sent["sales_manager"]
    assert manager.subject == (
        "Your SLA digest for Wed 25 Nov 2026: 2 due today, 1 breached yesterday"
    )
    assert f"- 11:00  First touch: {day['B'].name} (rep)" in manager.body_text
    assert f"- 11:30  First touch: {day['C'].name} (rep2)" in manager.body_text
    rep2 = sent["rep2"]
    assert rep2.subject == "Your SLA digest for Wed 25 Nov 2026: 1 due today, 0 breached yesterday"
    assert f"- 06:30  First touch: {day['C'].name} (rep2)" in rep2.body_text


def test_a_later_digest_hour_and_turning_the_digest_off(org, day):
    services.notification_settings_set(user=org.rep, timezone="Europe/Berlin", digest_hour=17)
    services.preference_set(user=org.marketer, event="digest", mode="off")
    assert org.rep.pk not in services.send_digests(now=utc(2026, 11, 25, 15, 59)).users
    result = services.send_digests(now=utc(2026, 11, 25, 16, 0))  # 17:00 in Berlin
    assert org.rep.pk in result.users
    assert org.marketer.pk not in result.users
    assert "marketer" not in digests()
