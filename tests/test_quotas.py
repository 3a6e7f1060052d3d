"""Marketing's promises: lead volume per period (met, at risk by pace, missed) and lead
quality (acceptance rate against its floor), periods cut in Berlin time."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from leads import checks, services
from leads.models import Breach, Obligation
from tests.factories import activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def sal_on(org, day: int, count: int) -> None:
    """`count` leads handed off and accepted on `day` November 2026."""
    for _ in range(count):
        lead = make_lead(org, now=berlin(2026, 11, day, 9), handed_off_at=berlin(2026, 11, day, 9))
        services.lead_accept(lead=lead, now=berlin(2026, 11, day, 10))


@pytest.fixture
def volume(org, now):
    add_commitment(org.version, "lead_volume", target=10, stage="sal", period="month")
    activate(org, now=berlin(2026, 10, 1))
    return org


def november(org) -> Obligation:
    return Obligation.objects.get(lead=None, period_start=berlin(2026, 11, 1))


def test_pace_below_target_is_at_risk(volume):
    sal_on(volume, 3, 2)
    # 10 Nov 00:00 is 9 of 30 days in: 2 SALs project to 6.7 of 10.
    result = checks.quota_evaluation(now=berlin(2026, 11, 10))
    assert (result.at_risk, result.missed, result.met) == (1, 0, 0)
    period = november(volume)
    assert (period.actual, period.target, period.status) == (2, 10, "open")
    assert period.due_at == berlin(2026, 12, 1)
    assert period.at_risk_at == berlin(2026, 11, 10)
    # Flagged once, not at every evaluation.
    assert checks.quota_evaluation(now=berlin(2026, 11, 11)).at_risk == 0


def test_on_pace_is_not_at_risk(volume):
    sal_on(volume, 3, 4)  # 4 after 9 days projects to 13.3
    assert checks.quota_evaluation(now=berlin(2026, 11, 10)).at_risk == 0
    assert november(volume).at_risk_at is None


def test_reaching_the_target_early_is_signalled_and_the_count_runs_to_the_end(volume):
    sal_on(volume, 3, 10)
    assert checks.quota_evaluation(now=berlin(2026, 11, 12)).met == 1
    period = november(volume)
    # Reached on 12 November: said once (met_at), but the month keeps counting.
    assert (period.status, period.actual, period.met_at) == ("open", 10, berlin(2026, 11, 12))
    sal_on(volume, 20, 3)
    assert checks.quota_evaluation(now=berlin(2026, 11, 21)).met == 0  # not said twice
    assert (november(volume).status, november(volume).actual) == ("open", 13)
    checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1))
    period = november(volume)
    # Closed at the end with the month's final count; met when the target was first reached.
    assert (period.status, period.actual, period.met_at) == ("met", 13, berlin(2026, 11, 12))
    assert period.closed_at == berlin(2026, 12, 1, 0, 1)


def test_a_month_closed_early_by_the_former_rule_keeps_counting_until_its_end(volume):
    sal_on(volume, 3, 10)
    checks.quota_evaluation(now=berlin(2026, 11, 12))
    # As the evaluation used to leave it: closed as met the moment the target was reached.
    Obligation.objects.filter(pk=november(volume).pk).update(
        status="met", closed_at=berlin(2026, 11, 12)
    )
    sal_on(volume, 20, 2)
    checks.quota_evaluation(now=berlin(2026, 11, 21))
    assert (november(volume).status, november(volume).actual) == ("met", 12)
    checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1))
    assert november(volume).closed_at == berlin(2026, 12, 1, 0, 1)  # final figure recorded


def test_a_missed_month_is_a_breach_for_marketing(volume):
    checks.quota_evaluation(now=berlin(2026, 11, 2))  # opens November
    sal_on(volume, 20, 8)
    result = checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 5))
    assert result.missed == 1
    period = november(volume)
    assert (period.status, period.actual) == ("breached", 8)
    breach = Breach.objects.get(obligation=period)
    assert (breach.side, breach.team, breach.kind) == ("marketing", volume.marketing, "lead_volume")
    # December opened in the same run, judged separately.
    assert Obligation.objects.filter(lead=None, period_start=berlin(2026, 12, 1)).exists()
    assert checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 10)).missed == 0


def test_leads_accepted_outside_the_month_do_not_count(volume):
    checks.quota_evaluation(now=berlin(2026, 11, 2))
    lead = make_lead(volume, now=berlin(2026, 10, 30, 9), handed_off_at=berlin(2026, 10, 30, 9))
    services.lead_accept(lead=lead, now=berlin(2026, 10, 31, 10))
    sal_on(volume, 5, 1)
    checks.quota_evaluation(now=berlin(2026, 11, 6))
    assert november(volume).actual == 1


def test_acceptance_below_the_floor_is_missed_at_period_end(org):
    add_commitment(org.version, "lead_quality", min_acceptance_pct=60, min_sample=5, period="month")
    activate(org, now=berlin(2026, 10, 1))
    checks.quota_evaluation(now=berlin(2026, 11, 1, 1))
    sal_on(org, 4, 2)
    for _ in range(4):
        lead = make_lead(org, now=berlin(2026, 11, 5, 9), handed_off_at=berlin(2026, 11, 5, 9))
        services.lead_reject(lead=lead, reason="No budget", now=berlin(2026, 11, 5, 11))

    mid = checks.quota_evaluation(now=berlin(2026, 11, 15))
    assert mid.at_risk == 1  # 2 of 6 accepted: 33 % < 60 %
    end = checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1))
    assert end.missed == 1
    period = november(org)
    assert (period.actual, period.sample, period.status) == (33, 6, "breached")


def test_too_few_dispositions_judge_nothing(org):
    add_commitment(org.version, "lead_quality", min_acceptance_pct=60, min_sample=5, period="month")
    activate(org, now=berlin(2026, 10, 1))
    checks.quota_evaluation(now=berlin(2026, 11, 1, 1))
    lead = make_lead(org, now=berlin(2026, 11, 5, 9), handed_off_at=berlin(2026, 11, 5, 9))
    services.lead_reject(lead=lead, reason="No budget", now=berlin(2026, 11, 5, 11))
    result = checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1))
    assert (result.met, result.missed) == (0, 0)
    assert november(org).status == "cancelled"
    assert not Breach.objects.exists()


def test_a_quota_starts_with_the_first_whole_period_after_activation(org):
    add_commitment(org.version, "lead_volume", target=10, stage="sal", period="month")
    activate(org, now=berlin(2026, 11, 10))
    checks.quota_evaluation(now=berlin(2026, 11, 20))
    assert not Obligation.objects.filter(lead=None).exists()
    checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1))
    assert Obligation.objects.get(lead=None).period_start == berlin(2026, 12, 1)


def test_acceptance_at_or_above_the_floor_is_met_at_period_end(org):
    add_commitment(org.version, "lead_quality", min_acceptance_pct=60, min_sample=5, period="month")
    activate(org, now=berlin(2026, 10, 1))
    checks.quota_evaluation(now=berlin(2026, 11, 1, 1))
    sal_on(org, 4, 3)
    for _ in range(2):
        lead = make_lead(org, now=berlin(2026, 11, 5, 9), handed_off_at=berlin(2026, 11, 5, 9))
        services.lead_reject(lead=lead, reason="No budget", now=berlin(2026, 11, 5, 11))
    # 3 of 5 accepted: exactly 60 %, the floor itself is kept.
    assert checks.quota_evaluation(now=berlin(2026, 11, 15)).at_risk == 0
    assert checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1)).met == 1
    assert (november(org).actual, november(org).status) == (60, "met")


def test_a_rejection_counts_in_its_period_even_after_the_lead_is_recycled(org):
    add_commitment(org.version, "lead_quality", min_acceptance_pct=60, min_sample=2, period="month")
    activate(org, now=berlin(2026, 10, 1))
    checks.quota_evaluation(now=berlin(2026, 11, 1, 1))
    sal_on(org, 4, 1)
    lead = make_lead(org, now=berlin(2026, 11, 5, 9), handed_off_at=berlin(2026, 11, 5, 9))
    services.lead_reject(lead=lead, reason="No budget", now=berlin(2026, 11, 5, 11))
    services.lead_set_stage(lead=lead, stage="recycled", now=berlin(2026, 11, 10))
    services.lead_hand_off(lead=lead, now=berlin(2026, 11, 20), at=berlin(2026, 11, 20))

    checks.quota_evaluation(now=berlin(2026, 11, 21))
    # 1 accepted, 1 rejected (then recycled): 50 % of 2, below the 60 % floor.
    assert (november(org).actual, november(org).sample) == (50, 2)
