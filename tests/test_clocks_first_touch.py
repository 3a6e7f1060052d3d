"""First-touch clocks: opened at hand-off, met by a touch in time, breached when late."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leads import checks, services
from leads.models import Activity, Breach, Obligation
from tests.factories import LONG_AGO, activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def setup_first_touch(org, now, within="PT4H"):
    add_commitment(org.version, "first_touch", within=within, warn_at_pct=50)
    activate(org, now=LONG_AGO)


def test_a_touch_in_time_meets_the_first_touch(org, now):
    setup_first_touch(org, now)
    handed = berlin(2026, 11, 25, 10, 0)  # Wednesday
    lead = make_lead(org, now=handed, handed_off_at=handed)
    obligation = lead.obligations.get()
    assert obligation.due_at == berlin(2026, 11, 25, 14, 0)
    assert obligation.warn_at == berlin(2026, 11, 25, 12, 0)

    touch = berlin(2026, 11, 25, 13, 59)
    services.activity_log(lead=lead, kind="call", occurred_at=touch, now=touch, user=org.rep)

    obligation.refresh_from_db()
    assert obligation.status == Obligation.Status.MET
    assert obligation.met_at == touch
    assert checks.deadline_scan(now=touch + timedelta(days=3)).breached == 0


def test_the_scan_breaches_a_first_touch_past_due_once(org, now):
    setup_first_touch(org, now)
    handed = berlin(2026, 11, 27, 16, 30)  # Friday afternoon
    lead = make_lead(org, now=handed, handed_off_at=handed)
    assert lead.obligations.get().due_at == berlin(2026, 11, 30, 12, 30)  # Monday

    assert checks.deadline_scan(now=berlin(2026, 11, 30, 12, 29)).breached == 0
    result = checks.deadline_scan(now=berlin(2026, 11, 30, 12, 31))
    assert (result.breached, result.warned) == (1, 0)
    assert checks.deadline_scan(now=berlin(2026, 11, 30, 12, 32)).breached == 0

    breach = Breach.objects.get()
    assert (breach.side, breach.user, breach.lead) == ("sales", org.rep, lead)
    assert breach.due_at == berlin(2026, 11, 30, 12, 30)


def test_a_late_touch_breaches_and_still_counts(org, now):
    setup_first_touch(org, now)
    handed = berlin(2026, 11, 25, 10, 0)
    lead = make_lead(org, now=handed, handed_off_at=handed)
    late = berlin(2026, 11, 25, 15, 0)
    services.activity_log(lead=lead, kind="email", occurred_at=late, now=late, user=org.rep)

    obligation = lead.obligations.get()
    assert obligation.status == Obligation.Status.BREACHED
    assert Breach.objects.filter(obligation=obligation).count() == 1
    assert Activity.objects.filter(lead=lead).count() == 1


def test_the_scan_warns_once_past_warn_at(org, now):
    setup_first_touch(org, now)  # PT4H, warn at 50 %
    handed = berlin(2026, 11, 25, 10, 0)
    lead = make_lead(org, now=handed, handed_off_at=handed)

    assert checks.deadline_scan(now=berlin(2026, 11, 25, 11, 59)).warned == 0
    assert checks.deadline_scan(now=berlin(2026, 11, 25, 12, 1)).warned == 1
    assert checks.deadline_scan(now=berlin(2026, 11, 25, 12, 2)).warned == 0
    obligation = lead.obligations.get()
    assert (obligation.status, obligation.warned_at) == ("open", berlin(2026, 11, 25, 12, 1))


def test_run_checks_command_prints_one_line_per_check(org, now):
    from io import StringIO

    from django.core.management import call_command

    setup_first_touch(org, now)
    handed = berlin(2026, 11, 20, 10, 0)
    make_lead(org, now=handed, handed_off_at=handed)
    out = StringIO()
    call_command("run_checks", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "deadline scan: 1 breached, 0 warned"
    assert lines[1].startswith("quota evaluation: ")
