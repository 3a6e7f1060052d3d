"""Terms in force, by date: a version is in force from its effective date (the second
signature, a chosen later date, or a staff backfill); lead clocks run under the version in
force at the hand-off, a quota period under the version in force at its start; a clause keeps
its identity (and its history) across versions. All times Berlin (CET in Oct–Nov 2026)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from agreements import services
from agreements.errors import ValidationError
from agreements.models import AgreementVersion
from leads import checks
from leads import services as lead_services
from leads.models import Obligation
from reports.scorecard import scorecard
from tests.factories import add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def sign(org, version, *, at, **propose):
    services.agreement_version_propose(version=version, now=at, **propose)
    services.agreement_version_sign(version=version, user=org.sales_manager, now=at)
    services.agreement_version_sign(version=version, user=org.marketing_manager, now=at)
    version.refresh_from_db()
    return version


def first_touch_due(org, handed: datetime, *, recorded: datetime | None = None) -> datetime:
    lead = make_lead(org, now=recorded or handed, handed_off_at=handed)
    return lead.obligations.get(kind="first_touch").due_at


def month(org, start: datetime) -> Obligation:
    return Obligation.objects.get(lead=None, kind="lead_volume", period_start=start)


@pytest.fixture
def terms(org):
    """v1 in force from 1 Oct 2026 00:00: first touch within 1 hour (calendar), at least 10
    SALs a month."""
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    add_commitment(org.version, "lead_volume", target=10, stage="sal", period="month")
    sign(org, org.version, at=berlin(2026, 10, 1))
    return org


def amend(org, **changes) -> AgreementVersion:
    """v2 drafted from v1: first touch within 30 minutes, 20 SALs a month."""
    v2 = services.agreement_version_draft(agreement=org.agreement, summary="Faster, more")
    v2.commitments.filter(kind="first_touch").update(within="PT30M")
    v2.commitments.filter(kind="lead_volume").update(target=20)
    return v2


def test_the_second_signature_puts_the_terms_in_force_and_ends_the_previous(terms):
    v1 = terms.version
    assert (v1.status, v1.effective_at, v1.ended_at) == ("active", berlin(2026, 10, 1), None)
    v2 = sign(terms, amend(terms), at=berlin(2026, 11, 10, 12))
    v1.refresh_from_db()
    assert (v2.status, v2.effective_at) == ("active", berlin(2026, 11, 10, 12))
    assert (v1.status, v1.ended_at) == ("superseded", berlin(2026, 11, 10, 12))
    # Hand-offs: before 12:00 on 10 Nov under v1 (1 hour), from then under v2 (30 minutes);
    # a hand-off recorded later but dated before keeps v1's terms.
    assert first_touch_due(terms, berlin(2026, 11, 10, 11)) == berlin(2026, 11, 10, 12)
    assert first_touch_due(terms, berlin(2026, 11, 10, 12)) == berlin(2026, 11, 10, 12, 30)
    backdated = first_touch_due(terms, berlin(2026, 11, 9, 9), recorded=berlin(2026, 11, 11))
    assert backdated == berlin(2026, 11, 9, 10)


def test_an_amendment_effective_next_month_leaves_the_running_and_past_months_unchanged(terms):
    checks.quota_evaluation(now=berlin(2026, 10, 2))  # opens October under v1
    checks.quota_evaluation(now=berlin(2026, 11, 2))  # closes October, opens November
    v2 = sign(terms, amend(terms), at=berlin(2026, 11, 10), effective_from=berlin(2026, 12, 1))
    terms.version.refresh_from_db()
    assert (v2.status, v2.effective_at) == ("scheduled", berlin(2026, 12, 1))
    assert terms.version.status == "active"

    # Still November: the running month keeps v1's 10, October too; new hand-offs get v1.
    checks.quota_evaluation(now=berlin(2026, 11, 20))
    november = month(terms, berlin(2026, 11, 1))
    assert (november.target, november.agreement_version) == (10, terms.version)
    assert month(terms, berlin(2026, 10, 1)).target == 10
    assert first_touch_due(terms, berlin(2026, 11, 30, 10)) == berlin(2026, 11, 30, 11)

    # 1 Dec 00:05: the check puts v2 in force (once) and opens December with v2's 20.
    result = checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 5))
    assert result.activated == 1
    assert "1 scheduled version(s) came into force" in str(result)
    assert checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 10)).activated == 0
    v2.refresh_from_db()
    terms.version.refresh_from_db()
    assert (v2.status, v2.effective_at, v2.activated_at) == (
        "active",
        berlin(2026, 12, 1),
        berlin(2026, 12, 1, 0, 5),
    )
    assert (terms.version.status, terms.version.ended_at) == ("superseded", berlin(2026, 12, 1))
    december = month(terms, berlin(2026, 12, 1))
    assert (december.target, december.agreement_version) == (20, v2)
    assert month(terms, berlin(2026, 11, 1)).target == 10  # judged on its own terms
    # Same clause in both months: the quota's history reads across the versions.
    assert december.commitment.clause == november.commitment.clause
    # A hand-off at 00:30 on 1 Dec runs under v2 even before any check ran after midnight.
    assert first_touch_due(terms, berlin(2026, 12, 1, 0, 30)) == berlin(2026, 12, 1, 1, 0)


def test_terms_signed_mid_month_apply_to_quotas_from_the_next_month(terms):
    checks.quota_evaluation(now=berlin(2026, 11, 2))
    v2 = sign(terms, amend(terms), at=berlin(2026, 11, 10))
    checks.quota_evaluation(now=berlin(2026, 11, 11))
    november = month(terms, berlin(2026, 11, 1))
    assert (november.target, november.agreement_version) == (10, terms.version)
    checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 1))
    assert month(terms, berlin(2026, 12, 1)).agreement_version == v2


def test_a_quota_not_yet_opened_still_starts_under_the_terms_in_force_at_its_start(terms):
    # No check ran in November before v2 was signed on the 10th: November still opens with
    # v1's 10, the terms in force when it began.
    sign(terms, amend(terms), at=berlin(2026, 11, 10))
    checks.quota_evaluation(now=berlin(2026, 11, 11))
    assert month(terms, berlin(2026, 11, 1)).target == 10


def test_a_version_that_says_so_applies_to_the_running_month(terms):
    checks.quota_evaluation(now=berlin(2026, 10, 2))
    checks.quota_evaluation(now=berlin(2026, 11, 2))
    v2 = sign(terms, amend(terms), at=berlin(2026, 11, 10), applies_to_running_periods=True)
    checks.quota_evaluation(now=berlin(2026, 11, 11))
    november = month(terms, berlin(2026, 11, 1))
    assert (november.target, november.agreement_version) == (20, v2)
    assert month(terms, berlin(2026, 10, 1)).target == 10  # a closed month never moves


def test_only_staff_backfill_terms_with_a_reason(org):
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    staff = User.objects.create_user("ops", is_staff=True)
    now = berlin(2026, 11, 25, 10)
    with pytest.raises(ValidationError) as exc:
        services.agreement_version_propose(
            version=org.version, now=now, user=org.sales_manager, effective_from=berlin(2026, 9, 1)
        )
    assert "effective_from" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.agreement_version_propose(
            version=org.version, now=now, user=staff, effective_from=berlin(2026, 9, 1)
        )
    assert "effective_reason" in exc.value.message_dict

    reason = "Onboarding: the SLA was agreed on paper on 1 Sep."
    services.agreement_version_propose(
        version=org.version,
        now=now,
        user=staff,
        effective_from=berlin(2026, 9, 1),
        effective_reason=reason,
    )
    services.agreement_version_sign(version=org.version, user=org.sales_manager, now=now)
    services.agreement_version_sign(version=org.version, user=org.marketing_manager, now=now)
    org.version.refresh_from_db()
    v1 = org.version
    assert (v1.status, v1.effective_at, v1.activated_at) == ("active", berlin(2026, 9, 1), now)
    assert (v1.effective_reason, v1.effective_set_by) == (reason, staff)
    # Imported history: a lead handed off on 15 Sep gets the backfilled terms.
    assert first_touch_due(org, berlin(2026, 9, 15, 9), recorded=now) == berlin(2026, 9, 15, 10)
    # Before 1 Sep no terms were in force: no clock.
    lead = make_lead(org, now=now, handed_off_at=berlin(2026, 8, 20, 9))
    assert (lead.agreement_version, lead.obligations.count()) == (None, 0)


def test_a_scheduled_version_can_be_called_off(terms):
    v2 = sign(terms, amend(terms), at=berlin(2026, 11, 10), effective_from=berlin(2026, 12, 1))
    services.agreement_version_retire(version=v2, now=berlin(2026, 11, 12))
    v2.refresh_from_db()
    assert (v2.status, v2.ended_at) == ("retired", berlin(2026, 12, 1))
    assert checks.quota_evaluation(now=berlin(2026, 12, 1, 0, 5)).activated == 0
    assert first_touch_due(terms, berlin(2026, 12, 2, 10)) == berlin(2026, 12, 2, 11)  # v1


def test_a_clause_keeps_its_identity_across_versions(terms):
    v1 = terms.version
    ft1 = v1.commitments.get(kind="first_touch")
    v2 = services.agreement_version_draft(agreement=terms.agreement)
    ft2 = v2.commitments.get(kind="first_touch")
    assert ft2.clause == ft1.clause  # copied with the draft
    ft2 = services.commitment_update(commitment=ft2, within="PT30M", order=3)
    assert ft2.clause == ft1.clause  # amended, still the same promise

    # Removed and added back (same kind, same applies_to): the clause continues.
    services.commitment_delete(commitment=ft2)
    again = services.commitment_create(version=v2, kind="first_touch", within="PT2H")
    assert again.clause == ft1.clause
    # Another first touch (Tier A only) is a new promise, a new clause.
    tier_a = services.commitment_create(
        version=v2, kind="first_touch", within="PT15M", applies_to={"tier": ["A"]}, order=1
    )
    assert tier_a.clause not in {ft1.clause, v1.commitments.get(kind="lead_volume").clause}

    # An explicit clause must be this agreement's, of the same kind, not yet in the draft.
    volume = v1.commitments.get(kind="lead_volume")
    with pytest.raises(ValidationError):
        services.commitment_create(
            version=v2, kind="first_touch", within="PT1H", clause=volume.clause
        )
    with pytest.raises(ValidationError):
        services.commitment_create(version=v2, kind="first_touch", within="PT1H", clause=ft1.clause)
    with pytest.raises(ValidationError):
        services.commitment_update(commitment=again, kind="disposition")


@pytest.fixture
def amended_history(org):
    """v1 from 1 Sep: first touch within 1 hour, 2 SALs a month. v2, signed 20 Oct to start
    1 Nov: the first touch taken out and added back within 30 minutes (same clause), 3 SALs.

    | lead   | handed off   | touched | due (terms)  | clock    | accepted |
    | Sep    | 10 Sep 10:00 | 10:30   | 11:00 (v1)   | met      | yes      |
    | Oct-a  | 5 Oct 10:00  | 11:30   | 11:00 (v1)   | breached | yes      |
    | Oct-b  | 6 Oct 10:00  | 10:20   | 11:00 (v1)   | met      | yes      |
    | Nov-a  | 3 Nov 10:00  | 10:20   | 10:30 (v2)   | met      | yes      |
    | Nov-b  | 4 Nov 10:00  | 10:45   | 10:30 (v2)   | breached | yes      |

    Quota months: Sep 1 of 2 (v1, missed), Oct 2 of 2 (v1, met), Nov 2 of 3 so far (v2).
    """
    staff = User.objects.create_user("ops", is_staff=True)
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    add_commitment(org.version, "lead_volume", target=2, stage="sal", period="month")
    sign(
        org,
        org.version,
        at=berlin(2026, 9, 1, 8),
        user=staff,
        effective_from=berlin(2026, 9, 1),
        effective_reason="Agreed on paper on 1 Sep",
    )

    def lead(day: datetime, touched_minutes: int):
        handed = day.replace(hour=10)
        made = make_lead(org, now=handed, handed_off_at=handed)
        touch = handed + timedelta(minutes=touched_minutes)
        lead_services.activity_log(
            lead=made, kind="call", occurred_at=touch, now=touch, user=org.rep
        )
        lead_services.lead_accept(lead=made, now=touch)

    checks.quota_evaluation(now=berlin(2026, 9, 2))
    lead(berlin(2026, 9, 10), 30)
    checks.quota_evaluation(now=berlin(2026, 10, 1, 0, 1))
    lead(berlin(2026, 10, 5), 90)
    lead(berlin(2026, 10, 6), 20)
    v2 = services.agreement_version_draft(agreement=org.agreement, summary="Faster, more")
    services.commitment_delete(commitment=v2.commitments.get(kind="first_touch"))
    services.commitment_create(version=v2, kind="first_touch", within="PT30M", clock="calendar")
    services.commitment_update(commitment=v2.commitments.get(kind="lead_volume"), target=3)
    sign(org, v2, at=berlin(2026, 10, 20), effective_from=berlin(2026, 11, 1))
    checks.quota_evaluation(now=berlin(2026, 11, 1, 0, 1))  # v2 in force; November opens
    lead(berlin(2026, 11, 3), 20)
    lead(berlin(2026, 11, 4), 45)
    checks.quota_evaluation(now=berlin(2026, 11, 25))
    return org, v2


V1_FIRST_TOUCH = "Sales will make a first touch on every lead within 1 hour of hand-off."
V2_FIRST_TOUCH = "Sales will make a first touch on every lead within 30 minutes of hand-off."


def test_an_amended_clause_keeps_its_history_on_the_scorecard(amended_history):
    org, v2 = amended_history
    card = scorecard(org.agreement, now=berlin(2026, 11, 25, 10))
    assert card.version == v2
    assert [v.label for v in card.period_versions] == ["v1", "v1", "v2"]
    (first_touch,) = [line for line in card.lines if line.kind == "first_touch" and not line.total]
    assert first_touch.sentence == V2_FIRST_TOUCH
    # Sep 1 of 1, Oct 1 of 2 (Oct-a late), Nov 1 of 2 (Nov-b late under v2's 30 minutes).
    assert [(s.value, s.detail) for s in first_touch.scores] == [
        (100.0, "1 of 1 on time"),
        (50.0, "1 of 2 on time"),
        (50.0, "1 of 2 on time"),
    ]
    assert [(s.version, s.terms) for s in first_touch.scores] == [
        ("v1", V1_FIRST_TOUCH),
        ("v1", V1_FIRST_TOUCH),
        ("v2", ""),  # the line's own words
    ]
    (volume,) = [line for line in card.lines if line.kind == "lead_volume"]
    # Each quota month with its own period's target: 2, 2, then v2's 3.
    assert [(s.value, s.detail, s.version) for s in volume.scores] == [
        (50.0, "1 of 2", "v1"),
        (100.0, "2 of 2", "v1"),
        (66.7, "2 of 3 so far", "v2"),
    ]
    assert volume.scores[0].terms == "Marketing will deliver at least 2 SALs each month."


def test_a_past_months_review_pack_shows_the_terms_in_force_then(amended_history, client):
    import time_machine
    from django.urls import reverse

    org, _ = amended_history
    card = scorecard(org.agreement, now=berlin(2026, 11, 25, 10), at=berlin(2026, 10, 1))
    assert card.version == org.version  # v1: the terms of October
    (first_touch,) = [line for line in card.lines if line.kind == "first_touch" and not line.total]
    assert first_touch.sentence == V1_FIRST_TOUCH
    assert [(s.value, s.version, s.terms) for s in first_touch.scores] == [
        (None, "", ""),  # August: no terms in force yet
        (100.0, "v1", ""),
        (50.0, "v1", ""),
    ]
    client.force_login(org.sales_manager)
    with time_machine.travel(berlin(2026, 11, 25, 10), tick=False):
        html = client.get(reverse("reports:review") + "?month=2026-10").content.decode()
    assert V1_FIRST_TOUCH in html and V2_FIRST_TOUCH not in html
    assert "at least 2 SALs each month" in html and "3 SALs" not in html


def test_the_agreement_page_proposes_a_start_date_and_shows_it(terms, client):
    import time_machine
    from django.urls import reverse

    v2 = amend(terms)
    agreement = terms.agreement
    with time_machine.travel(berlin(2026, 11, 10, 9), tick=False):
        client.force_login(terms.sales_manager)
        response = client.post(
            reverse("version-propose", args=[agreement.pk, v2.number]),
            {"effective_from": "2026-12-01"},
        )
        assert response.status_code == 302
        client.post(reverse("version-sign", args=[agreement.pk, v2.number]))
        client.force_login(terms.marketing_manager)
        client.post(reverse("version-sign", args=[agreement.pk, v2.number]))
        html = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    v2.refresh_from_db()
    assert (v2.status, v2.effective_at) == ("scheduled", berlin(2026, 12, 1))  # 00:00 Berlin
    assert "in force from 1 Dec 2026 00:00" in html
    assert "in force since 1 Oct 2026 00:00" in html  # v1 until then
    # A past date from a manager is refused on the page, with the reason why.
    v3 = AgreementVersion.objects.create(agreement=agreement, number=3)
    add_commitment(v3, "first_touch", within="PT1H")
    with time_machine.travel(berlin(2026, 11, 10, 9), tick=False):
        refused = client.post(
            reverse("version-propose", args=[agreement.pk, 3]), {"effective_from": "2026-11-01"}
        )
    assert refused.status_code == 400
    assert "Only staff may date terms before they are signed" in refused.content.decode()


def test_the_marketing_home_shows_the_running_month_under_its_own_terms(terms, client):
    import time_machine
    from django.urls import reverse

    checks.quota_evaluation(now=berlin(2026, 11, 2))  # November opens under v1: 10 SALs
    sign(terms, amend(terms), at=berlin(2026, 11, 10, 12))  # v2 (20 SALs) in force mid-month
    client.force_login(terms.marketing_manager)
    with time_machine.travel(berlin(2026, 11, 20, 12), tick=False):
        page = client.get(reverse("marketing-home")).content.decode()

    # The card is v2's promise, but November is judged against v1's 10; December against 20.
    assert "at least 20 SALs each month" in page
    assert 'data-figure="volume.sal.target">10<' in page
    assert "This month is judged under v1&#x27;s terms (a target of 10)" in page
    assert "these terms apply from 1 Dec" in page
