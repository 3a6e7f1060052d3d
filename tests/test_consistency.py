"""One truth: every figure shown in two places (a role home, the compliance page, its CSV,
the reports API, the scorecard, the review pack) is the same number.

Figures are read through the pages' stable hooks (`data-figure="…"` on the homes, the
tables' cells and CSV exports, the API's JSON); a mismatch names the figure and both places.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from agreements.models import RejectionReason
from leads import checks, services
from tests.factories import activate, add_commitment, make_lead
from tests.test_reports_pages import page_rows, parse

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)  # Wednesday
NOV = {"start": "2026-11-01", "end": "2026-11-30"}


def b(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def same(figure: str, **places) -> None:
    """All places show the same value of `figure`; else say which two differ."""
    (first, value), *rest = places.items()
    for place, other in rest:
        assert str(other) == str(value), f"{figure}: {first} shows {value}, {place} shows {other}"


def figures(response) -> dict[str, str]:
    html = response.content.decode()
    return {
        name: re.sub(r"\s+", " ", value).strip()
        for name, value in re.findall(r'data-figure="([^"]+)"[^>]*>([^<]*)<', html)
    }


def csv_table(client, page: str, table: str, query: dict) -> list[list[str]]:
    response = client.get(reverse("reports:export", args=[page, table]), query)
    assert response.status_code == 200, (page, table)
    return list(csv.reader(io.StringIO(response.content.decode())))


def row(rows: list[list[str]], first: str) -> list[str]:
    return next(r for r in rows if r and first in r[0] + " " + " ".join(r[1:2]))


# A hand-built November ----------------------------------------------------------------------


@pytest.fixture
def month(org):
    """First touch PT4H on the business calendar (Mon–Fri 09–17 Berlin); 3 SALs a month;
    acceptance at least 50 %. Judged at NOW = Wed 25 Nov 10:00.

    lead  owner  handed off       what happened                      first-touch clock
    A     rep    Mon 2 Nov 09:00  touched 10:00, accepted 3 Nov      met
    B     rep    Tue 3 Nov 09:00  never touched                      breached (due 13:00)
    C     rep2   Wed 4 Nov 09:00  touched 09:30, accepted 4 Nov      met
    D     rep2   Thu 5 Nov 09:00  rejected 10:00 (no budget),        cancelled: not counted
                                  recycled 6 Nov (Lead.rejected_at cleared, the event stays)
    E     rep    Mon 9 Nov 09:00  touched 09:10, accepted 9 Nov      met (3rd SAL: target)
    F     rep    Tue 10 Nov 09:00 accepted 10:00, never touched      breached (4th SAL)
    G     rep    Wed 25 Nov 09:00 touched 09:30 (today)              met, due today 13:00
    """
    add_commitment(org.version, "first_touch", within="PT4H")
    add_commitment(org.version, "lead_volume", target=3, stage="sal", period="month")
    add_commitment(org.version, "lead_quality", min_acceptance_pct=50, min_sample=2, period="month")
    activate(org, now=b(2026, 10, 1))
    RejectionReason.objects.create(code="no-budget", label="No budget")

    def lead(name, at, owner=None):
        return make_lead(org, now=at, handed_off_at=at, name=name, owner=owner or org.rep)

    def touch(x, at):
        services.activity_log(
            lead=x, kind="call", occurred_at=at, now=at, user=x.owner, outcome="attempted"
        )

    checks.run_all(now=b(2026, 11, 1, 0, 5))  # opens November's quota periods
    a = lead("A", b(2026, 11, 2, 9))
    touch(a, b(2026, 11, 2, 10))
    services.lead_accept(lead=a, now=b(2026, 11, 3, 9))
    lead("B", b(2026, 11, 3, 9))
    c = lead("C", b(2026, 11, 4, 9), org.rep2)
    touch(c, b(2026, 11, 4, 9, 30))
    services.lead_accept(lead=c, now=b(2026, 11, 4, 10))
    d = lead("D", b(2026, 11, 5, 9), org.rep2)
    services.lead_reject(lead=d, reason="no-budget", now=b(2026, 11, 5, 10))
    services.lead_set_stage(lead=d, stage="recycled", now=b(2026, 11, 6, 9))
    e = lead("E", b(2026, 11, 9, 9))
    touch(e, b(2026, 11, 9, 9, 10))
    services.lead_accept(lead=e, now=b(2026, 11, 9, 11))
    checks.run_all(now=b(2026, 11, 9, 12))  # the target (3) is reached here
    f = lead("F", b(2026, 11, 10, 9))
    services.lead_accept(lead=f, now=b(2026, 11, 10, 10))
    g = lead("G", b(2026, 11, 25, 9))
    touch(g, b(2026, 11, 25, 9, 30))
    checks.run_all(now=NOW)
    return org


def test_every_figure_of_the_hand_built_month_is_the_same_everywhere(client, month):
    org = month
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        client.force_login(org.sales_manager)
        team = figures(client.get(reverse("team-home")))
        compliance = parse(client.get(reverse("reports:compliance"), NOV))
        sales = row(page_rows(compliance, "sales"), "First touch")
        sales_csv = row(csv_table(client, "compliance", "sales", NOV), "First touch")
        api = client.get("/api/v1/reports/compliance/", NOV).json()["sales"]["first_touch"]
        review = csv_table(client, "review", "scorecard", {"month": "2026-11"})
        rep_q = {**NOV, "rep": org.rep.pk}
        rep_sales = row(
            page_rows(parse(client.get(reverse("reports:compliance"), rep_q)), "sales"),
            "First touch",
        )
        rep2_q = {**NOV, "rep": org.rep2.pk}
        rep2_sales = row(
            page_rows(parse(client.get(reverse("reports:compliance"), rep2_q)), "sales"),
            "First touch",
        )
        today_q = {"start": "2026-11-25", "end": "2026-11-25"}
        today_sales = row(
            page_rows(parse(client.get(reverse("reports:compliance"), today_q)), "sales"),
            "First touch",
        )

        client.force_login(org.marketing_manager)
        marketing = figures(client.get(reverse("marketing-home")))
        volume = page_rows(compliance, "volume")[1]
        acceptance = page_rows(compliance, "acceptance")[1]
        acceptance_csv = csv_table(client, "compliance", "acceptance", NOV)[1]
        reasons_csv = csv_table(client, "compliance", "reasons", NOV)[1:]
        scorecard = csv_table(client, "scorecard", "scorecard", {})

    # First touch, November: met A C E G = 4, missed B F = 2 (D cancelled), 66.7 %.
    assert (team["month.first_touch.met"], team["month.first_touch.missed"]) == ("4", "2")
    same(
        "first touch met, Nov",
        team_page=team["month.first_touch.met"],
        compliance=sales[2],
        csv=sales_csv[2],
        api=api["met"],
    )
    same(
        "first touch missed, Nov",
        team_page=team["month.first_touch.missed"],
        compliance=sales[3],
        csv=sales_csv[3],
        api=api["missed"],
    )
    same("first touch %, Nov", compliance=sales[4], csv=sales_csv[4], api=api["pct"])
    nov_col = review[0].index("Nov 2026 detail")
    total = row(review, "All first-touch clocks")
    same(
        "first touch kept of due, Nov",
        review_pack=total[nov_col],
        compliance=f"{sales[2]} of {sales[1]} on time",
    )
    # Today = the clocks due today: G, met.
    same(
        "first touch met, today", team_page=team["today.first_touch.met"], compliance=today_sales[2]
    )
    assert team["today.first_touch.met"] == "1"
    # Per rep: rep met A E G = 3, missed B F = 2; rep2 met C = 1, missed 0.
    same(
        "rep's first touch met",
        team_page=team[f"rep.{org.rep.pk}.first_touch.met"],
        compliance=rep_sales[2],
        by_hand=3,
    )
    same(
        "rep's first touch missed",
        team_page=team[f"rep.{org.rep.pk}.first_touch.missed"],
        compliance=rep_sales[3],
        by_hand=2,
    )
    same(
        "rep2's first touch met",
        team_page=team[f"rep.{org.rep2.pk}.first_touch.met"],
        compliance=rep2_sales[2],
        by_hand=1,
    )

    # SALs in November: A C E F = 4 (past the target of 3 reached on 9 Nov: still counting).
    score_col = scorecard[0].index("Nov 2026 detail")
    same(
        "SALs this month",
        marketing_home=marketing["volume.sal.actual"],
        compliance_volume=volume[6],
        scorecard=row(scorecard, "SALs")[score_col].split(" of ")[0],
        by_hand=4,
    )
    # Acceptance, November: accepted A C E F = 4, rejected D = 1 (kept after the recycle).
    same(
        "accepted",
        marketing_home=marketing["acceptance.accepted"],
        compliance=acceptance[0],
        csv=acceptance_csv[0],
        by_hand=4,
    )
    same(
        "rejected",
        marketing_home=marketing["acceptance.rejected"],
        compliance=acceptance[1],
        csv=acceptance_csv[1],
        by_hand=1,
    )
    same(
        "acceptance %",
        marketing_home=marketing["acceptance.pct"],
        compliance=f"{float(acceptance[2]):.0f}%",
        by_hand="80%",
    )
    same(
        "rejections for No budget",
        marketing_home=marketing["reason.No budget"],
        csv=next(r[1] for r in reasons_csv if r[0] == "No budget"),
        by_hand=1,
    )


# The demo data ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_shows_each_figure_once(client):
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from reports import refresh

    call_command("seed_demo", "--days", "40", stdout=StringIO())
    if connection.vendor == "postgresql":
        refresh.refresh(now=timezone.now())
    today = timezone.localtime(timezone.now(), BERLIN).date()
    first = today.replace(day=1)
    nxt = (first.replace(day=28) + __import__("datetime").timedelta(days=4)).replace(day=1)
    month_q = {
        "start": first.isoformat(),
        "end": (nxt - __import__("datetime").timedelta(days=1)).isoformat(),
    }
    cache.clear()
    client.force_login(User.objects.get(username="sam"))
    team = figures(client.get(reverse("team-home")))
    sales = row(
        page_rows(parse(client.get(reverse("reports:compliance"), month_q)), "sales"), "First touch"
    )
    api = client.get("/api/v1/reports/compliance/", month_q).json()
    review = csv_table(client, "review", "scorecard", {"month": f"{first:%Y-%m}"})
    col = review[0].index(f"{first:%b %Y} detail")
    same(
        "first touch met, this month",
        team_page=team["month.first_touch.met"],
        compliance=sales[2],
        api=api["sales"]["first_touch"]["met"],
    )
    same(
        "first touch missed, this month",
        team_page=team["month.first_touch.missed"],
        compliance=sales[3],
        api=api["sales"]["first_touch"]["missed"],
    )
    same(
        "first touch kept of due, this month",
        compliance=f"{sales[2]} of {sales[1]} on time",
        review_pack=row(review, "All first-touch clocks")[col] or "0 of 0 on time",
    )
    for rep in User.objects.filter(memberships__team__side="sales", memberships__role="member"):
        key = f"rep.{rep.pk}.first_touch.met"
        if key not in team:
            continue
        rep_sales = row(
            page_rows(
                parse(client.get(reverse("reports:compliance"), {**month_q, "rep": rep.pk})),
                "sales",
            ),
            "First touch",
        )
        same(f"{rep.username}'s first touch met", team_page=team[key], compliance=rep_sales[2])
        same(
            f"{rep.username}'s first touch missed",
            team_page=team[f"rep.{rep.pk}.first_touch.missed"],
            compliance=rep_sales[3],
        )

    client.force_login(User.objects.get(username="morgan"))
    marketing = figures(client.get(reverse("marketing-home")))
    acceptance = api["acceptance"]
    same(
        "accepted, this month",
        marketing_home=marketing["acceptance.accepted"],
        api=acceptance["accepted"],
    )
    same(
        "rejected, this month",
        marketing_home=marketing["acceptance.rejected"],
        api=acceptance["rejected"],
    )
    for reason in api["rejection_reasons"]:
        same(
            f"rejections for {reason['reason']}",
            marketing_home=marketing[f"reason.{reason['reason']}"],
            api=reason["count"],
        )
    running = [p for p in api["volume"] if p["status"] == "running"]
    if "volume.sal.actual" in marketing and running:
        same(
            "SALs this month",
            marketing_home=marketing["volume.sal.actual"],
            api=running[0]["actual"],
        )
