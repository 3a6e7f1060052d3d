"""Shared goals in the browser: progress per period counted by the reports' metric code and
drawn against the target, check-ins that record the figure of that moment and a note from
each side, kept as history; the same progress in the API."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements import goals as goal_services
from agreements.models import Goal
from audit.models import AuditEvent
from leads import services as lead_services
from reports.goals import goal_progress
from tests.factories import LONG_AGO, activate, add_commitment, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def _lead(org, handed_off_at, *, touched_at=None, accepted_at=None, rejected_at=None):
    lead = make_lead(org, now=handed_off_at, handed_off_at=handed_off_at)
    if touched_at:
        lead_services.activity_log(lead=lead, kind="call", occurred_at=touched_at, now=touched_at)
    if accepted_at:
        lead_services.lead_accept(lead=lead, now=accepted_at)
    if rejected_at:
        lead_services.lead_reject(lead=lead, reason="No budget", now=rejected_at)
    return lead


@pytest.fixture
def history(org):
    """First touch within 4 business hours (Mon–Fri 9–17 Berlin). By hand:
    October: L1 handed off Tue 20 Oct 09:00, called 10:00 (met), accepted 11:00.
    November: L2 handed off Mon 9 Nov 09:00, called 09:30 (met), accepted Tue 10 Nov 10:00;
    L3 handed off Mon 23 Nov 09:00, called 09:15 (met), rejected 10:00;
    L4 handed off Tue 24 Nov 09:00, called 14:00 (due 13:00: missed), accepted 15:00.
    So October: 1 SAL, acceptance 1/1 = 100 %, first touch 1/1 = 100 %;
    November (to Wed 25 Nov 10:00): 2 SALs, acceptance 2/3 = 66.7 %, first touch 2/3 = 66.7 %."""
    add_commitment(org.version, "first_touch", within="PT4H", warn_at_pct=None)
    activate(org, now=LONG_AGO)
    _lead(org, berlin(2026, 10, 20, 9), touched_at=berlin(2026, 10, 20, 10),
          accepted_at=berlin(2026, 10, 20, 11))  # fmt: skip
    _lead(org, berlin(2026, 11, 9, 9), touched_at=berlin(2026, 11, 9, 9, 30),
          accepted_at=berlin(2026, 11, 10, 10))  # fmt: skip
    _lead(org, berlin(2026, 11, 23, 9), touched_at=berlin(2026, 11, 23, 9, 15),
          rejected_at=berlin(2026, 11, 23, 10))  # fmt: skip
    _lead(org, berlin(2026, 11, 24, 9), touched_at=berlin(2026, 11, 24, 14),
          accepted_at=berlin(2026, 11, 24, 15))  # fmt: skip
    return org


def _goal(org, metric, target, **fields):
    return goal_services.goal_create(
        agreement=org.agreement,
        user=org.sales_manager,
        name=fields.pop("name", f"Goal on {metric}"),
        metric=metric,
        target=Decimal(target),
        period="month",
        starts_on=date(2026, 10, 1),
        owner=fields.pop("owner", org.sales_manager),
        **fields,
    )


@pytest.mark.parametrize(
    ("metric", "october", "november"),
    [
        ("sal_count", 1.0, 2.0),
        ("acceptance_pct", 100.0, 66.7),
        ("first_touch_pct", 100.0, 66.7),
        ("sql_count", 0.0, 0.0),
        ("won_count", 0.0, 0.0),
    ],
)
def test_progress_per_month_is_the_reports_figure(history, metric, october, november):
    goal = _goal(history, metric, "3")
    progress = goal_progress(goal, NOW)
    assert [(p.label, p.value) for p in progress.points] == [
        ("Oct 2026", october),
        ("Nov 2026", november),
    ]
    assert progress.value == november


def test_attainment_and_the_chart_with_its_target_line(history):
    progress = goal_progress(_goal(history, "sal_count", "3"), NOW)
    assert progress.attainment_pct == 66.7  # 2 of 3
    assert progress.reached is False
    assert progress.chart() == {
        "type": "line",
        "labels": ["Oct 2026", "Nov 2026"],
        "series": [
            {"label": "SALs (leads accepted by sales)", "data": [1.0, 2.0]},
            {"label": "Target", "data": [3.0, 3.0], "dashed": True},
        ],
    }


def test_a_goal_needs_a_measured_metric_and_a_manager(history):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError):
        _goal(history, "happiness", "3")
    with pytest.raises(PermissionDenied):
        goal_services.goal_create(
            agreement=history.agreement,
            user=history.rep,
            name="Mine",
            metric="sal_count",
            target=3,
            period="month",
            starts_on=date(2026, 11, 1),
        )


def test_the_goal_pages_set_a_goal_and_keep_check_ins_as_history(
    history, client, django_assert_max_num_queries
):
    org = history
    client.force_login(org.marketing_manager)
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            reverse("goal-list", args=[org.agreement.pk]),
            {
                "name": "Three SALs a month",
                "metric": "sal_count",
                "target": "3",
                "period": "month",
                "starts_on": "2026-10-01",
                "sides": "marketing",
                "owner": org.marketing_manager.pk,
            },
        )
    goal = Goal.objects.get(name="Three SALs a month")
    assert (goal.sides, goal.owner, goal.target) == ("marketing", org.marketing_manager, 3)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("goal-detail", args=[org.agreement.pk, goal.pk])

    # Tuesday 24 Nov 12:00: one SAL in November so far (L4 is accepted at 15:00).
    client.force_login(org.rep)
    url = reverse("goal-check-in", args=[org.agreement.pk, goal.pk])
    with time_machine.travel(berlin(2026, 11, 24, 12), tick=False):
        client.post(url, {"marketing_note": "Webinar leads next week", "sales_note": "On it"})
    with time_machine.travel(NOW, tick=False):
        client.post(url, {"sales_note": "Two in, one to go"})
    assert [(c.on, c.value, c.sales_note, c.author) for c in goal.check_ins.all()] == [
        (date(2026, 11, 25), Decimal("2.00"), "Two in, one to go", org.rep),
        (date(2026, 11, 24), Decimal("1.00"), "On it", org.rep),
    ]
    assert AuditEvent.objects.filter(action="goal.check_in").count() == 2

    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(14):
        page = client.get(reverse("goal-detail", args=[org.agreement.pk, goal.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Webinar leads next week" in html and "Two in, one to go" in html
    assert '<tr><th scope="row">Nov 2026</th><td>2</td><td>3</td></tr>' in html
    assert 'data-chart="chart-goal"' in html

    _goal(org, "acceptance_pct", "70", name="Acceptance 70 %")
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(16):
        listing = client.get(reverse("goal-list", args=[org.agreement.pk]))
    html = listing.content.decode()
    assert "Three SALs a month" in html and "Acceptance 70 %" in html
    assert "66.7%" in html  # acceptance this month
    assert "Set a shared goal" not in html  # a rep sees, a manager sets


def test_a_stranger_sees_no_goal_page(history, client):
    from django.contrib.auth.models import User

    goal = _goal(history, "sal_count", "3")
    client.force_login(User.objects.create_user("stranger", password="pw"))
    assert client.get(reverse("goal-list", args=[history.agreement.pk])).status_code == 404
    url = reverse("goal-check-in", args=[history.agreement.pk, goal.pk])
    assert client.post(url, {"sales_note": "x"}).status_code == 404


def test_the_api_reads_the_same_progress_and_computes_check_ins(history, client):
    goal = _goal(history, "sal_count", "3")
    client.force_login(history.rep)
    with time_machine.travel(NOW, tick=False):
        check_in = client.post(
            f"/api/v1/goals/{goal.pk}/check-ins/",
            {"value": "99", "marketing_note": "From the API"},
            content_type="application/json",
        )
        detail = client.get(f"/api/v1/goals/{goal.pk}/").json()
    assert check_in.status_code == 201, check_in.json()
    assert check_in.json()["value"] == "2.00"  # computed, not typed in
    assert detail["progress"]["value"] == 2.0
    assert detail["progress"]["attainment_pct"] == 66.7
    assert [(p["label"], p["value"]) for p in detail["progress"]["points"]] == [
        ("Oct 2026", 1.0),
        ("Nov 2026", 2.0),
    ]
