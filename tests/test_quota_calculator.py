"""The quota calculator (issue 15, item 3): the reverse funnel worked by hand, the rates
prefilled from a hand-built history, the click that puts the number into the draft with
the assumptions as the term's comment, and who may use it (never on a signed version)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements.models import AgreementVersion, Commitment, TermComment
from agreements.quota_calculator import QuotaInputs, reverse_funnel
from agreements.services import (
    agreement_version_draft,
    agreement_version_propose,
    agreement_version_sign,
)
from audit.models import AuditEvent
from leads import services as lead_services
from reports.selectors import quota_history
from tests.factories import activate, add_commitment, make_user

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)


def b(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def inputs(**changes) -> QuotaInputs:
    values = {
        "revenue_goal": Decimal("600000"),
        "period": "month",
        "marketing_share_pct": Decimal("50"),
        "average_deal": Decimal("10000"),
        "sql_to_won_pct": Decimal("25"),
        "sal_to_sql_pct": Decimal("40"),
        "mql_to_sal_pct": Decimal("60"),
    }
    return QuotaInputs(**(values | changes))


# The arithmetic -------------------------------------------------------------------------


def test_the_reverse_funnel_worked_by_hand():
    result = reverse_funnel(inputs())
    # 600,000 × 50% = 300,000 from marketing's deals; ÷ 10,000 = 30 won deals.
    assert (result.marketing_revenue, result.won_in_period, result.won) == (300000, 30, 30)
    # 30 ÷ 25% = 120 SQLs; 120 ÷ 40% = 300 SALs; 300 ÷ 60% = 500 MQLs.
    assert (result.sqls, result.sals, result.mqls) == (120, 300, 500)
    assert [result.per_month(s) for s in ("mql", "sal", "sql")] == [500, 300, 120]


def test_each_step_rounds_up():
    # 250,000 × 30% = 75,000; ÷ 8,000 = 9.375 → 10 won a quarter; ÷ 3 = 3.33 → 4 a month;
    # 4 ÷ 30% = 13.33 → 14 SQLs; 14 ÷ 45% = 31.1 → 32 SALs; 32 ÷ 70% = 45.7 → 46 MQLs.
    result = reverse_funnel(
        inputs(
            revenue_goal=Decimal("250000"),
            period="quarter",
            marketing_share_pct=Decimal("30"),
            average_deal=Decimal("8000"),
            sql_to_won_pct=Decimal("30"),
            sal_to_sql_pct=Decimal("45"),
            mql_to_sal_pct=Decimal("70"),
        )
    )
    assert (result.won_in_period, result.won, result.sqls, result.sals, result.mqls) == (
        10,
        4,
        14,
        32,
        46,
    )


def test_an_exact_step_is_not_rounded_past_itself():
    # 7 won ÷ 7% is exactly 100 SQLs (a float division would give 100.000…01 → 101).
    result = reverse_funnel(
        inputs(
            revenue_goal=Decimal("70000"),
            marketing_share_pct=Decimal("100"),
            sql_to_won_pct=Decimal("7"),
            sal_to_sql_pct=Decimal("100"),
            mql_to_sal_pct=Decimal("100"),
        )
    )
    assert (result.won, result.sqls, result.sals, result.mqls) == (7, 100, 100, 100)


def test_a_year_goal_is_spread_over_twelve_months():
    # 1,200,000 × 50% ÷ 10,000 = 60 won a year → 5 a month → 20 SQLs → 50 SALs → 84 MQLs.
    result = reverse_funnel(inputs(revenue_goal=Decimal("1200000"), period="year"))
    assert (result.won_in_period, result.won, result.sqls, result.sals, result.mqls) == (
        60,
        5,
        20,
        50,
        84,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"sql_to_won_pct": Decimal("0")},
        {"mql_to_sal_pct": Decimal("101")},
        {"marketing_share_pct": Decimal("0")},
        {"average_deal": Decimal("0")},
        {"revenue_goal": Decimal("-5")},
        {"period": "week"},
    ],
)
def test_an_unusable_assumption_is_refused(changes):
    with pytest.raises(ValueError):
        reverse_funnel(inputs(**changes))


# The history and the page ---------------------------------------------------------------


@pytest.fixture
def history(org):
    """v1 in force since September with 40 SQLs a month; v2 drafted by the sales manager.
    Leads entering the funnel (as MQLs), in the agreement's time zone:
    - 31 Aug: A0, won by 10 Sep — before the three months, not counted;
    - September to November: 10 MQLs (M1…M10); M1–M5 accepted (SAL), M1, M2 reach SQL,
      M1 is won: MQL → SAL 5/10 = 50%, SAL → SQL 2/5 = 40%, SQL → won 1/2 = 50%;
    - 1 Dec 08:00 (this month): D1, accepted — not counted."""
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    add_commitment(org.version, "lead_volume", target=40, stage="sql", period="month")
    activate(org, now=b(2026, 8, 1, 9, 0))

    def mql(name, at):
        return lead_services.lead_create(
            external_id=name,
            name=name,
            sales_team=org.sales,
            marketing_team=org.marketing,
            owner=org.rep,
            stage="mql",
            handed_off_at=at,
            now=at,
        )

    a0 = mql("A0", b(2026, 8, 31, 10, 0))
    lead_services.lead_accept(lead=a0, now=b(2026, 9, 1, 10, 0))
    lead_services.lead_set_stage(lead=a0, stage="sql", now=b(2026, 9, 2, 10, 0))
    lead_services.lead_set_stage(lead=a0, stage="won", now=b(2026, 9, 10, 10, 0))
    days = [b(2026, 9, 7, 10), b(2026, 9, 21, 10), b(2026, 10, 5, 10), b(2026, 10, 19, 10)]
    days += [b(2026, 11, d, 10) for d in (2, 9, 16, 23, 27, 30)]
    leads = [mql(f"M{i}", at) for i, at in enumerate(days, start=1)]
    for lead in leads[:5]:
        lead_services.lead_accept(lead=lead, now=lead.handed_off_at.replace(hour=11))
    for lead in leads[:2]:
        lead_services.lead_set_stage(
            lead=lead, stage="sql", now=lead.handed_off_at.replace(hour=12)
        )
    lead_services.lead_set_stage(lead=leads[0], stage="won", now=b(2026, 11, 20, 10, 0))
    d1 = mql("D1", b(2026, 12, 1, 8, 0))
    lead_services.lead_accept(lead=d1, now=b(2026, 12, 1, 9, 0))
    with time_machine.travel(NOW, tick=False):
        draft = agreement_version_draft(
            agreement=org.agreement, user=org.sales_manager, summary="Quota from the goal"
        )
    return org, draft


def _url(org, draft, name="quota-calculator"):
    return reverse(name, args=[org.agreement.pk, draft.number])


FORM = {
    "revenue_goal": "600000",
    "period": "month",
    "marketing_share_pct": "50",
    "average_deal": "10000",
    "sql_to_won_pct": "25",
    "sal_to_sql_pct": "40",
    "mql_to_sal_pct": "60",
    "stage": "sql",
}


def test_the_rates_are_prefilled_from_the_last_three_months(history):
    org, draft = history
    first, last, rates = quota_history(org.agreement, now=NOW)
    assert (first.isoformat(), last.isoformat()) == ("2026-09-01", "2026-11-30")
    assert (rates.mqls, rates.sals, rates.sqls, rates.won) == (10, 5, 2, 1)
    assert (rates.mql_to_sal_pct, rates.sal_to_sql_pct, rates.sql_to_won_pct) == (50, 40, 50)


def test_the_page_shows_the_prefilled_rates_and_where_they_come_from(
    client, history, django_assert_max_num_queries
):
    org, draft = history
    client.force_login(org.marketing_manager)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(18):
        page = client.get(_url(org, draft)).content.decode()
    assert (
        "Rates prefilled from the closed-loop funnel of the leads that entered it "
        "1 Sep 2026 – 30 Nov 2026 (10 MQLs, 5 SALs, 2 SQLs, 1 won), followed up to 1 Dec 2026."
    ) in page
    assert 'name="mql_to_sal_pct" value="50.0"' in page
    assert 'name="sal_to_sql_pct" value="40.0"' in page
    assert 'name="sql_to_won_pct" value="50.0"' in page
    assert '<option value="sql" selected>SQLs</option>' in page  # v2's lead-volume stage


def test_working_it_out_shows_each_step(client, history, django_assert_max_num_queries):
    org, draft = history
    client.force_login(org.sales_manager)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(18):
        page = client.get(_url(org, draft), FORM).content.decode()
    assert "30 won ÷ 25% SQL → won" in page
    assert '<td class="num">120</td>' in page
    assert '<td class="num">300</td>' in page
    assert '<td class="num">500</td>' in page
    assert "Put 120 SQLs a month into version 2" in page
    assert Commitment.objects.get(version=draft, kind="lead_volume").target == 40  # unchanged


def test_one_click_puts_the_number_into_the_draft_with_the_assumptions(client, history):
    org, draft = history
    client.force_login(org.marketing_manager)
    with time_machine.travel(NOW, tick=False):
        response = client.post(_url(org, draft, "quota-apply"), FORM, follow=True)
    page = response.content.decode()
    assert "Version 2 now asks marketing for 120 SQLs a month" in page
    volume = Commitment.objects.get(version=draft, kind="lead_volume")
    assert (volume.target, volume.stage, volume.period) == (120, "sql", "month")
    comment = TermComment.objects.get(version=draft)
    assert comment.clause == volume.clause
    assert (comment.author, comment.side) == (org.marketing_manager, "marketing")
    assert comment.body == (
        "Quota calculator: 120 SQLs a month.\n"
        "Revenue goal 600,000 a month, 50% from marketing-sourced deals = 300,000; "
        "average won deal 10,000 → 30 won deals a month.\n"
        "SQL → won 25% → 120 SQLs; SAL → SQL 40% → 300 SALs; MQL → SAL 60% → 500 MQLs a "
        "month (each step rounded up).\n"
        "Rates prefilled from the closed-loop funnel of the leads that entered it "
        "1 Sep 2026 – 30 Nov 2026 (10 MQLs, 5 SALs, 2 SQLs, 1 won), followed up to "
        "1 Dec 2026. Edited here: MQL → SAL, SQL → won."
    )
    # The diff the other side reads, with the comment under the changed term.
    assert (
        "<del>Marketing will deliver at least 40 SQLs each month.</del> → <ins>Marketing will "
        "deliver at least 120 SQLs each month.</ins>" in page
    )
    assert "Quota calculator: 120 SQLs a month." in page
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "commitment.update",
        "term.comment",
    }


def test_a_draft_without_a_lead_volume_commitment_gets_one(client, history):
    org, draft = history
    draft.commitments.filter(kind="lead_volume").delete()
    client.force_login(org.sales_manager)
    with time_machine.travel(NOW, tick=False):
        response = client.post(_url(org, draft, "quota-apply"), FORM | {"stage": "sal"})
    assert response.status_code == 302
    volume = Commitment.objects.get(version=draft, kind="lead_volume")
    assert (volume.target, volume.stage, volume.period) == (300, "sal", "month")
    # It continues v1's clause (same kind, every lead), so its history reads across versions.
    assert volume.clause == org.version.commitments.get(kind="lead_volume").clause
    assert TermComment.objects.get(version=draft).body.startswith(
        "Quota calculator: 300 SALs a month."
    )


def test_bad_assumptions_get_a_clear_400_and_change_nothing(client, history):
    org, draft = history
    client.force_login(org.sales_manager)
    with time_machine.travel(NOW, tick=False):
        response = client.post(_url(org, draft, "quota-apply"), FORM | {"sql_to_won_pct": "0"})
    assert response.status_code == 400
    assert "Check the assumptions marked below." in response.content.decode()
    assert Commitment.objects.get(version=draft, kind="lead_volume").target == 40
    assert not TermComment.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("sales_manager", 302),
        ("marketing_manager", 302),
        ("staff", 302),
        ("rep", 403),
        ("marketer", 403),
        ("stranger", 404),
    ],
)
def test_who_may_use_the_calculator(client, history, who, status):
    org, draft = history
    users = {
        "staff": make_user("staff_user", is_staff=True),
        "stranger": make_user("stranger"),
    }
    client.force_login(users.get(who) or getattr(org, who))
    with time_machine.travel(NOW, tick=False):
        shown = client.get(_url(org, draft)).status_code
        applied = client.post(_url(org, draft, "quota-apply"), FORM).status_code
    assert (shown, applied) == (200 if status == 302 else status, status)
    target = Commitment.objects.get(version=draft, kind="lead_volume").target
    assert target == (120 if status == 302 else 40)


def test_nothing_changes_on_a_signed_proposal_or_the_terms_in_force(client, history):
    org, draft = history
    with time_machine.travel(NOW, tick=False):
        agreement_version_propose(version=draft, now=NOW, user=org.sales_manager)
        agreement_version_sign(version=draft, user=org.sales_manager, now=NOW)
        client.force_login(org.marketing_manager)
        shown = client.get(_url(org, draft))
        applied = client.post(_url(org, draft, "quota-apply"), FORM)
        in_force = client.post(_url(org, org.version, "quota-apply"), FORM)
    assert shown.status_code == applied.status_code == in_force.status_code == 400
    assert "the quota calculator works on a draft" in shown.content.decode()
    assert "the calculator changes drafts only" in applied.content.decode()
    assert list(Commitment.objects.filter(kind="lead_volume").values_list("target", flat=True)) == [
        40,
        40,
    ]
    assert not TermComment.objects.exists()
    assert AgreementVersion.objects.get(pk=draft.pk).status == "proposed"
    assert draft.signatures.count() == 1  # sales' signature stands on unchanged terms


def test_the_prefilled_rates_read_the_same_from_the_rollups(history, require_postgres):
    from tests.test_reports_data import roll_up

    org, _ = history
    roll_up(NOW)
    from reports import rollups

    assert rollups.coverage((org.sales.pk,), BERLIN)[1] is True  # the funnel reads its facts
    _, _, rates = quota_history(org.agreement, now=NOW)
    assert (rates.mqls, rates.sals, rates.sqls, rates.won) == (10, 5, 2, 1)


def test_a_number_too_big_for_a_commitment_is_a_400(client, history):
    org, draft = history
    client.force_login(org.sales_manager)
    huge = FORM | {"revenue_goal": "999999999999", "average_deal": "1", "mql_to_sal_pct": "0.1"}
    with time_machine.travel(NOW, tick=False):
        shown = client.get(_url(org, draft), huge | {"stage": "mql"})
        applied = client.post(_url(org, draft, "quota-apply"), huge | {"stage": "mql"})
    assert shown.status_code == 200
    assert applied.status_code == 400
    assert Commitment.objects.get(version=draft, kind="lead_volume").target == 40
    assert not TermComment.objects.exists()
