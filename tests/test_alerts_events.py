"""Each event kind reaches the right people, once, with an email that says what happened."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from agreements.models import Membership, Team
from alerts import services
from alerts.models import Alert
from leads import checks
from leads import services as lead_services
from leads.models import Breach
from tests.factories import activate, add_commitment, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://slahub.example"


def recipients(**filters) -> set[str]:
    return set(Alert.objects.filter(**filters).values_list("recipient__username", flat=True))


@pytest.fixture
def first_touch(org, now):
    Team.objects.filter(pk__in=[org.sales.pk, org.marketing.pk]).update(timezone="Europe/Berlin")
    add_commitment(
        org.version, "first_touch", within="PT4H", warn_at_pct=75, applies_to={"tier": ["A"]}
    )
    activate(org, now=now)
    return org


def jane(org, handed, **fields):
    fields = {"name": "Jane Doe", "company": "Acme", "tier": "A", **fields}
    return make_lead(org, now=handed, handed_off_at=handed, **fields)


def test_a_warning_goes_to_the_lead_owner_only(first_touch):
    org = first_touch
    lead = jane(org, berlin(2026, 11, 25, 10, 0))  # due 14:00, warn at 13:00
    assert checks.deadline_scan(now=berlin(2026, 11, 25, 12, 59)).warned == 0
    assert checks.deadline_scan(now=berlin(2026, 11, 25, 13, 12)).warned == 1

    alert = Alert.objects.get()
    assert (alert.event, alert.recipient, alert.status) == ("warning", org.rep, "pending")
    assert alert.subject == "First touch due in 48 min: Jane Doe, Acme — Tier A"
    assert alert.key == f"warning:{lead.obligations.get().pk}"
    assert "Wed 25 Nov 2026, 14:00 CET" in alert.body_text  # the rep's team is in Berlin


def test_a_breach_goes_to_the_responsible_user_and_their_team_managers(first_touch):
    org = first_touch
    lead = jane(org, berlin(2026, 11, 25, 10, 0))
    checks.deadline_scan(now=berlin(2026, 11, 25, 14, 12, 30))

    breach = Breach.objects.get()
    assert recipients(event="breach") == {"rep", "sales_manager"}
    for alert in Alert.objects.filter(event="breach"):
        assert alert.subject == "First touch overdue by 12 min: Jane Doe, Acme — Tier A"
        assert alert.key == f"breach:{breach.pk}"
        assert alert.breach == breach
        # the promise in the words both sides signed, the lead, the times, absolute links
        promise = "Sales will make a first touch on every Tier A lead within 4 business hours"
        assert promise in alert.body_text
        assert f"https://slahub.example/leads/{lead.pk}/" in alert.body_text
        assert f"https://slahub.example/breaches/{breach.pk}/" in alert.body_text
        assert "https://slahub.example/settings/notifications/" in alert.body_text
        assert "Due:           Wed 25 Nov 2026, 14:00 CET" in alert.body_text
        assert f'href="https://slahub.example/breaches/{breach.pk}/"' in alert.body_html
        assert "Jane Doe, Acme — Tier A" in alert.body_html


def test_an_unassigned_leads_breach_goes_to_the_sales_managers(first_touch):
    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0), owner=None)
    checks.deadline_scan(now=berlin(2026, 11, 25, 15, 0))

    assert recipients(event="breach") == {"sales_manager"}
    assert "nobody (unassigned)" in Alert.objects.get().body_text


def test_an_unassigned_leads_warning_goes_to_the_sales_managers(first_touch):
    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0), owner=None)
    assert checks.deadline_scan(now=berlin(2026, 11, 25, 13, 12)).warned == 1
    assert recipients(event="warning") == {"sales_manager"}


def test_a_late_touch_breach_is_alerted_in_the_same_transaction(first_touch):
    org = first_touch
    lead = jane(org, berlin(2026, 11, 25, 10, 0))
    late = berlin(2026, 11, 25, 16, 0)
    lead_services.activity_log(lead=lead, kind="call", occurred_at=late, now=late, user=org.rep)
    assert Alert.objects.get(recipient=org.rep).subject.startswith("First touch overdue by 2 h:")


def test_an_alert_is_rolled_back_with_the_check_that_found_it(first_touch):
    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0))
    with pytest.raises(RuntimeError), transaction.atomic():
        checks.deadline_scan(now=berlin(2026, 11, 25, 15, 0))
        assert Alert.objects.count() == 2
        raise RuntimeError("the scan failed after recording")
    assert (Breach.objects.count(), Alert.objects.count()) == (0, 0)


def test_the_same_event_never_queues_a_second_email(first_touch):
    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0))
    checks.deadline_scan(now=berlin(2026, 11, 25, 15, 0))
    breach = Breach.objects.get()
    services.breaches_detected([breach], now=berlin(2026, 11, 25, 15, 5))
    assert Alert.objects.count() == 2


def test_times_are_in_the_recipients_time_zone(first_touch):
    org = first_touch
    services.notification_settings_set(user=org.rep, timezone="America/New_York")
    jane(org, berlin(2026, 11, 25, 10, 0))
    checks.deadline_scan(now=berlin(2026, 11, 25, 15, 0))
    assert (
        "Due:           Wed 25 Nov 2026, 08:00 EST"
        in Alert.objects.get(recipient=org.rep).body_text
    )
    manager_alert = Alert.objects.get(recipient=org.sales_manager)
    assert "Due:           Wed 25 Nov 2026, 14:00 CET" in manager_alert.body_text


def test_a_user_without_an_email_gets_nothing(first_touch):
    org = first_touch
    org.sales_manager.email = ""
    org.sales_manager.save()
    jane(org, berlin(2026, 11, 25, 10, 0))
    checks.deadline_scan(now=berlin(2026, 11, 25, 15, 0))
    assert recipients() == {"rep"}


# Quotas ---------------------------------------------------------------------------------


@pytest.fixture
def volume(org, now):
    add_commitment(
        org.version, "lead_volume", target=40, stage="sql", period="month", warn_at_pct=None
    )
    activate(org, now=berlin(2026, 10, 1))
    # A manager of another marketing team, outside this agreement, must hear nothing.
    other = Team.objects.create(name="Other marketing", side="marketing")
    Membership.objects.create(team=other, user=make_user("outsider"), role="manager")
    return org


def test_quota_at_risk_goes_to_the_managers_of_both_sides(volume):
    result = checks.quota_evaluation(now=berlin(2026, 11, 20, 12, 0))  # 2/3 of November
    assert result.at_risk == 1
    assert recipients(event="quota_at_risk") == {"sales_manager", "marketing_manager"}
    alert = Alert.objects.filter(event="quota_at_risk").first()
    assert alert.subject == "Lead volume at risk: 0 of 40 SQLs so far this month — Marketing"
    assert "Marketing will deliver at least 40 SQLs each month." in alert.body_text


def test_quota_missed_goes_to_the_managers_of_both_sides(volume):
    checks.quota_evaluation(now=berlin(2026, 11, 20, 12, 0))
    result = checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 5))
    assert result.missed == 1
    breach = Breach.objects.get(kind="lead_volume")
    assert recipients(event="quota_missed") == {"sales_manager", "marketing_manager"}
    alert = Alert.objects.filter(event="quota_missed").first()
    assert alert.subject == "Lead volume missed: 0 of 40 SQLs this month — Marketing"
    assert f"https://slahub.example/breaches/{breach.pk}/" in alert.body_text
    assert "missed its monthly promise" in alert.body_text


# Escalation -----------------------------------------------------------------------------


def test_an_unacknowledged_breach_escalates_after_one_business_day(first_touch):
    org = first_touch
    jane(org, berlin(2026, 11, 27, 10, 0))  # Friday; due 14:00
    checks.deadline_scan(now=berlin(2026, 11, 27, 14, 30))
    breach = Breach.objects.get()
    assert breach.detected_at == berlin(2026, 11, 27, 14, 30)

    # One business day on the Mon–Fri calendar: Monday 14:30, not Saturday.
    assert services.escalate_breaches(now=berlin(2026, 11, 30, 14, 29)) == 0
    assert services.escalate_breaches(now=berlin(2026, 11, 30, 14, 31)) == 1
    assert services.escalate_breaches(now=berlin(2026, 11, 30, 15, 0)) == 0

    breach.refresh_from_db()
    assert breach.escalated_at == berlin(2026, 11, 30, 14, 31)
    assert recipients(event="escalation") == {"sales_manager", "marketing_manager"}
    alert = Alert.objects.filter(event="escalation").first()
    assert alert.subject == (
        "Unacknowledged for 1 working day: First touch overdue — Jane Doe, Acme — Tier A"
    )
    assert alert.key == f"escalation:{breach.pk}"


def test_an_acknowledged_breach_does_not_escalate(first_touch):
    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0))
    checks.deadline_scan(now=berlin(2026, 11, 25, 14, 30))
    lead_services.breach_acknowledge(
        breach=Breach.objects.get(), user=org.rep, note="Called late", now=berlin(2026, 11, 25, 15)
    )
    assert services.escalate_breaches(now=berlin(2026, 12, 2, 10, 0)) == 0


def test_the_escalation_delay_is_configurable(first_touch, settings):
    settings.ALERTS_ESCALATE_AFTER = "PT2H"
    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0))
    checks.deadline_scan(now=berlin(2026, 11, 25, 16, 0))
    # Two business hours from Wed 16:00 on a 09–17 calendar: Thu 10:00.
    assert services.escalate_breaches(now=berlin(2026, 11, 26, 9, 59)) == 0
    assert services.escalate_breaches(now=berlin(2026, 11, 26, 10, 0)) == 1
    assert services.escalate_breaches(now=berlin(2026, 11, 25, 16, 0) + timedelta(days=9)) == 0


# Cost and the run_checks entry point ---------------------------------------------------


def test_queueing_costs_the_same_queries_for_one_breach_or_many(first_touch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org = first_touch
    for i in range(6):
        jane(org, berlin(2026, 11, 25, 10, 0), name=f"Lead {i}")
    checks.deadline_scan(now=berlin(2026, 11, 25, 15, 0))
    Alert.objects.all().delete()
    breaches = list(Breach.objects.order_by("pk"))

    with CaptureQueriesContext(connection) as one:
        services.breaches_detected(breaches[:1], now=berlin(2026, 11, 25, 15, 0))
    Alert.objects.all().delete()
    with CaptureQueriesContext(connection) as six:
        services.breaches_detected(breaches, now=berlin(2026, 11, 25, 15, 0))
    assert Alert.objects.count() == 12
    assert len(six) == len(one) <= 8


def test_run_all_escalates_digests_and_delivers(first_touch):
    from django.core import mail

    from alerts import checks as alert_checks

    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0))
    checks.deadline_scan(now=berlin(2026, 11, 25, 15, 0))
    lines = alert_checks.run_all(berlin(2026, 11, 26, 15, 30))
    assert lines == [
        "escalation: 1 breaches escalated",
        "digest: 2 queued, 3 with nothing to report",  # the rep's and the sales manager's
        "alert delivery: 6 sent, 0 to retry, 0 given up",  # 2 breach, 2 escalation, 2 digests
        "chat delivery: 0 sent, 0 to retry, 0 given up",  # nobody chose a chat channel
    ]
    assert len(mail.outbox) == 6


def test_run_checks_also_runs_the_alert_checks(org):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("run_checks", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-4].startswith("escalation: 0 breaches escalated")
    assert lines[-3].startswith("digest: ")
    assert lines[-2] == "alert delivery: 0 sent, 0 to retry, 0 given up"
    assert lines[-1] == "chat delivery: 0 sent, 0 to retry, 0 given up"


def test_the_subject_and_text_are_not_html_escaped_but_the_html_is(first_touch):
    org = first_touch
    jane(org, berlin(2026, 11, 25, 10, 0), name="Tom <Tim>", company="Smith & Sons")
    checks.deadline_scan(now=berlin(2026, 11, 25, 14, 30))
    alert = Alert.objects.get(recipient=org.rep)
    assert alert.subject == "First touch overdue by 30 min: Tom <Tim>, Smith & Sons — Tier A"
    assert "Lead:          Tom <Tim>, Smith & Sons — Tier A" in alert.body_text
    assert "Tom &lt;Tim&gt;, Smith &amp; Sons" in alert.body_html
    assert "<Tim>" not in alert.body_html
