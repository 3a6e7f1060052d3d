"""The permission matrix: every API action and page against every role of two team pairs.

Two pairs (A and B), each a marketing and a sales team with an agreement in force; the
manager of B's marketing team has also started a draft agreement with A's sales team (the
takeover attempt), which must link nothing. Every cell targets pair A's objects; pair B's
four roles, staff and an anonymous visitor are the other rows. Each cell runs in a
savepoint that is rolled back, so cells never see each other's writes, and asks the
database (writes) or the answer (reads) whether the action went through; a cell whose
outcome differs from the table is a leak (went through, should not) or a refusal (should
have gone through). docs/security.md explains the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from agreements import services as agreement_services
from agreements.models import (
    Agreement,
    AgreementVersion,
    BusinessCalendar,
    Commitment,
    Goal,
    Holiday,
    Invitation,
    Membership,
    RejectionReason,
    Side,
    Team,
    TermComment,
    WorkingHours,
)
from integrations.models import Import, WebhookSource, WebhookSubscription
from leads import checks
from leads import services as lead_services
from leads.models import Activity, Breach, Lead, RejectionContest
from tests.factories import LONG_AGO, add_commitment, make_calendar, make_user

pytestmark = pytest.mark.services

A_SALES = {"a_rep", "a_sm"}
A_MARKETING = {"a_mk", "a_mm"}
A_ALL = A_SALES | A_MARKETING
A_MANAGERS = {"a_sm", "a_mm"}
STAFF = {"staff"}
ROLES = ["a_rep", "a_sm", "a_mk", "a_mm", "b_rep", "b_sm", "b_mk", "b_mm", "staff", "anon"]


# The two pairs ------------------------------------------------------------------------------


@dataclass
class Pair:
    marketing: Team
    sales: Team
    agreement: Agreement
    users: dict


def make_pair(tag: str, now) -> Pair:
    calendar = make_calendar(name=f"Calendar {tag}")
    marketing = Team.objects.create(name=f"Marketing {tag}", side=Side.MARKETING, calendar=calendar)
    sales = Team.objects.create(name=f"Sales {tag}", side=Side.SALES, calendar=calendar)
    users = {}
    for role, team, membership in [
        ("rep", sales, Membership.Role.MEMBER),
        ("rep2", sales, Membership.Role.MEMBER),
        ("sm", sales, Membership.Role.MANAGER),
        ("mk", marketing, Membership.Role.MEMBER),
        ("mm", marketing, Membership.Role.MANAGER),
    ]:
        users[role] = make_user(f"{tag}_{role}")
        Membership.objects.create(team=team, user=users[role], role=membership)
    agreement = Agreement.objects.create(
        name=f"Pact {tag}", marketing_team=marketing, sales_team=sales, calendar=calendar
    )
    version = agreement_services.agreement_version_draft(agreement=agreement)
    add_commitment(version, Commitment.Kind.FIRST_TOUCH, within="PT1H", clock="calendar")
    add_commitment(version, Commitment.Kind.DISPOSITION, within="P5D", clock="calendar")
    agreement_services.agreement_version_propose(version=version, now=LONG_AGO)
    agreement_services.agreement_version_sign(version=version, user=users["sm"], now=LONG_AGO)
    agreement_services.agreement_version_sign(version=version, user=users["mm"], now=LONG_AGO)
    return Pair(marketing, sales, agreement, users)


@dataclass
class World:
    a: Pair
    b: Pair
    actors: dict
    ids: dict = field(default_factory=dict)


def build_world() -> World:
    now = timezone.now()
    a, b = make_pair("a", now), make_pair("b", now)
    staff = make_user("staff_user", is_staff=True)
    actors = {f"a_{k}": v for k, v in a.users.items()} | {f"b_{k}": v for k, v in b.users.items()}
    actors |= {"staff": staff, "anon": None}
    w = World(a, b, actors)
    # Pair B's marketing manager starts a draft with A's sales team (the takeover attempt).
    from integrations.services import agreement_create

    agreement_create(
        user=b.users["mm"],
        name="Takeover draft",
        marketing_team=b.marketing,
        sales_team=a.sales,
        calendar=b.marketing.calendar,
    )
    # A's objects, the targets of every cell.
    lead = lead_services.lead_create(
        external_id="victim",
        source_system="crm",
        name="Victim Lead",
        email="victim@a.example",
        sales_team=a.sales,
        marketing_team=a.marketing,
        owner=a.users["rep"],
        handed_off_at=now - timedelta(minutes=5),
        now=now,
    )
    fresh = lead_services.lead_create(
        external_id="fresh",
        source_system="crm",
        name="Fresh Lead",
        email="fresh@a.example",
        sales_team=a.sales,
        marketing_team=a.marketing,
        now=now,
    )
    late = lead_services.lead_create(
        external_id="late",
        source_system="crm",
        name="Late Lead",
        email="late@a.example",
        sales_team=a.sales,
        marketing_team=a.marketing,
        owner=a.users["rep"],
        handed_off_at=now - timedelta(hours=3),
        now=now - timedelta(hours=3),
    )
    checks.deadline_scan(now=now)
    breach = Breach.objects.get(lead=late)
    touch = lead_services.activity_log(
        lead=lead,
        kind="call",
        occurred_at=now - timedelta(minutes=1),
        now=now,
        user=a.users["rep"],
        note="victim touch",
    )
    # A's managers run two more sales teams' agreements: a draft with "Sales a2" and none
    # yet with "Sales a3" (an agreement is one per pair of teams).
    extra = {}
    for name in ("Sales a2", "Sales a3"):
        extra[name] = Team.objects.create(name=name, side=Side.SALES)
        Membership.objects.create(
            team=extra[name], user=a.users["sm"], role=Membership.Role.MANAGER
        )
    w.ids["a3"] = extra["Sales a3"].pk
    second = Agreement.objects.create(
        name="Pact a second",
        marketing_team=a.marketing,
        sales_team=extra["Sales a2"],
        calendar=make_calendar(name="Calendar of a2"),
    )
    draft = agreement_services.agreement_version_draft(agreement=second)
    commitment = add_commitment(draft, Commitment.Kind.FIRST_TOUCH, within="PT4H")
    proposed = agreement_services.agreement_version_draft(agreement=a.agreement)
    agreement_services.agreement_version_propose(version=proposed, now=now)
    goal = Goal.objects.create(
        agreement=a.agreement,
        name="Victim goal",
        metric="acceptance_pct",
        target=50,
        period="month",
        starts_on=now.date(),
    )
    holiday = Holiday.objects.create(
        calendar=a.sales.calendar, date=now.date() + timedelta(days=40), name="Victim day"
    )
    reason = RejectionReason.objects.create(label="No budget", code="no-budget", team=a.sales)
    rejected, contested = (
        lead_services.lead_create(
            external_id=name,
            name=f"{name.title()} Lead",
            sales_team=a.sales,
            marketing_team=a.marketing,
            owner=a.users["rep"],
            handed_off_at=now - timedelta(minutes=3),
            now=now,
        )
        for name in ("rejected", "contested")
    )
    for each in (rejected, contested):
        lead_services.lead_reject(lead=each, reason="no-budget", now=now - timedelta(minutes=2))
    contest = lead_services.rejection_contest_open(
        lead=contested, user=a.users["mm"], reason="They have budget", now=now
    )
    from integrations.services import webhook_subscription_create

    subscription, _ = webhook_subscription_create(
        owner=a.users["sm"], url="https://a.example/hook", events=["breach.created"], name="Hook"
    )
    record = Import.objects.create(
        user=a.users["mk"],
        content="Id\n1\n",
        filename="victim.csv",
        preset="custom",
        mapping={"external_id": "Id"},
        source_system="csv",
        sales_team=a.sales,
        total_rows=1,
        created_at=now,
    )
    from connectors import crypto
    from connectors.models import Connector

    Connector.objects.create(
        kind="hubspot",
        sales_team=a.sales,
        marketing_team=a.marketing,
        run_as=a.users["sm"],
        credentials=crypto.seal({"token": "pat-victim-token"}),
        settings={"stage_map": {}, "writeback": {"sla_status": "victim_sla_status"}},
        created_at=now,
    )
    w.ids |= {
        "lead": lead.pk,
        "fresh": fresh.pk,
        "breach": breach.pk,
        "touch": touch.pk,
        "second": second.pk,
        "commitment": commitment.pk,
        "goal": goal.pk,
        "holiday": holiday.pk,
        "reason": reason.pk,
        "rejected": rejected.pk,
        "contest": contest.pk,
        "subscription": subscription.pk,
        "import": record.pk,
        "obligation": lead.obligations.first().pk,
        "draft": Agreement.objects.get(name="Takeover draft").pk,
        "clause": str(proposed.commitments.order_by("pk").first().clause),
        "source": WebhookSource.objects.create(name="Victim CRM", slug="victim-crm").pk,
    }
    return w


# Cells --------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One action: `request(w)` → (method, url, data); `happened(w, response)` tells whether
    it went through; `allowed` the roles that may."""

    name: str
    request: Callable
    allowed: set
    happened: Callable
    api: bool = True


def seen(*markers: str) -> Callable:
    """A read went through when the answer is a 200 showing the marker."""
    return lambda w, r: r.status_code == 200 and all(m in r.content.decode() for m in markers)


def streamed(*markers: str) -> Callable:
    """A download went through when the streamed answer is a 200 holding the markers."""

    def check(w, r) -> bool:
        if r.status_code != 200 or not r.streaming:
            return False
        body = b"".join(r.streaming_content).decode()
        return all(m in body for m in markers)

    return check


def lead_of(w) -> Lead:
    return Lead.objects.get(pk=w.ids["lead"])


def get(url) -> Callable:
    return lambda w: ("get", url(w) if callable(url) else url, None)


def post(url, data=None, method="post") -> Callable:
    return lambda w: (
        method,
        url(w) if callable(url) else url,
        data(w) if callable(data) else (data or {}),
    )


def lead_url(suffix: str = "") -> Callable:
    return lambda w: f"/api/v1/leads/{w.ids['lead']}/{suffix}"


def upsert(**fields) -> Callable:
    return lambda w: {
        "source_system": "crm",
        "external_id": "victim",
        **{k: v(w) if callable(v) else v for k, v in fields.items()},
    }


def rep2(w) -> int:
    return w.a.users["rep2"].pk


API_CELLS = [
    # Teams and calendars
    Cell("teams list", get("/api/v1/teams/"), A_ALL | STAFF, seen("Sales a", "a_rep")),
    Cell(
        "team detail", get(lambda w: f"/api/v1/teams/{w.a.sales.pk}/"), A_ALL | STAFF, seen("a_rep")
    ),
    Cell("calendars list", get("/api/v1/calendars/"), A_ALL | STAFF, seen("Calendar a")),
    Cell(
        "calendar detail",
        get(lambda w: f"/api/v1/calendars/{w.a.sales.calendar_id}/"),
        A_ALL | STAFF,
        seen("Calendar a"),
    ),
    # Agreements
    Cell("agreements list", get("/api/v1/agreements/"), A_ALL | STAFF, seen("Pact a")),
    Cell(
        "agreement detail",
        get(lambda w: f"/api/v1/agreements/{w.a.agreement.pk}/"),
        A_ALL | STAFF,
        seen("Pact a"),
    ),
    Cell(
        "draft with A's sales: record",
        get(lambda w: f"/api/v1/agreements/{w.ids['draft']}/"),
        A_SALES | {"b_mk", "b_mm"} | STAFF,
        seen("Takeover draft"),
    ),
    Cell(
        "agreement create",
        post(
            "/api/v1/agreements/",
            lambda w: {
                "name": "New pact",
                "marketing_team": w.a.marketing.pk,
                "sales_team": w.ids["a3"],
                "calendar": w.a.sales.calendar_id,
            },
        ),
        A_MANAGERS | STAFF,
        lambda w, r: Agreement.objects.filter(name="New pact").exists(),
    ),
    Cell(
        "versions list",
        get(lambda w: f"/api/v1/agreements/{w.a.agreement.pk}/versions/"),
        A_ALL | STAFF,
        seen('"number":2'),
    ),
    Cell(
        "version draft",
        post(lambda w: f"/api/v1/agreements/{w.a.agreement.pk}/versions/", {"summary": "x"}),
        set(),  # v2 is still proposed: nobody starts v3 (the refusal is for everyone)
        lambda w, r: w.a.agreement.versions.count() > 2,
    ),
    Cell(
        "commitment add",
        post(
            lambda w: f"/api/v1/agreements/{w.ids['second']}/versions/1/commitments/",
            {"kind": "disposition", "within": "P1D"},
        ),
        A_MANAGERS | STAFF,
        lambda w, r: Commitment.objects.filter(version__agreement_id=w.ids["second"]).count() == 2,
    ),
    Cell(
        "commitment change",
        post(
            lambda w: (
                f"/api/v1/agreements/{w.ids['second']}/versions/1/commitments/"
                f"{w.ids['commitment']}/"
            ),
            {"within": "PT2H"},
            method="patch",
        ),
        A_MANAGERS | STAFF,
        lambda w, r: Commitment.objects.get(pk=w.ids["commitment"]).within == "PT2H",
    ),
    Cell(
        "commitment delete",
        post(
            lambda w: (
                f"/api/v1/agreements/{w.ids['second']}/versions/1/commitments/"
                f"{w.ids['commitment']}/"
            ),
            method="delete",
        ),
        A_MANAGERS | STAFF,
        lambda w, r: not Commitment.objects.filter(pk=w.ids["commitment"]).exists(),
    ),
    Cell(
        "version propose",
        post(lambda w: f"/api/v1/agreements/{w.ids['second']}/versions/1/propose/"),
        A_MANAGERS | STAFF,
        lambda w, r: (
            AgreementVersion.objects.get(agreement_id=w.ids["second"]).status == "proposed"
        ),
    ),
    Cell(
        "version sign",
        post(lambda w: f"/api/v1/agreements/{w.a.agreement.pk}/versions/2/sign/"),
        A_MANAGERS,  # a manager signs for his side; staff do not sign
        lambda w, r: AgreementVersion.objects.get(
            agreement=w.a.agreement, number=2
        ).signatures.exists(),
    ),
    Cell(
        "version detail",
        get(lambda w: f"/api/v1/agreements/{w.a.agreement.pk}/versions/2/"),
        A_ALL | STAFF,
        seen('"number":2'),
    ),
    Cell(
        "version activate (unsigned)",
        post(lambda w: f"/api/v1/agreements/{w.a.agreement.pk}/versions/2/activate/"),
        set(),  # never before both sides have signed, whoever asks
        lambda w, r: (
            AgreementVersion.objects.get(agreement=w.a.agreement, number=2).status == "active"
        ),
    ),
    Cell(
        "version diff",
        get(lambda w: f"/api/v1/agreements/{w.a.agreement.pk}/diff/?from=1&to=2"),
        A_ALL | STAFF,
        seen('"from_version":1'),
    ),
    # Goals
    Cell("goals list", get("/api/v1/goals/"), A_ALL | STAFF, seen("Victim goal")),
    Cell(
        "goal detail",
        get(lambda w: f"/api/v1/goals/{w.ids['goal']}/"),
        A_ALL | STAFF,
        seen("Victim goal"),
    ),
    Cell(
        "goal create",
        post(
            "/api/v1/goals/",
            lambda w: {
                "agreement": w.a.agreement.pk,
                "name": "New goal",
                "metric": "acceptance_pct",
                "target": 60,
                "period": "month",
                "starts_on": "2026-12-01",
            },
        ),
        A_MANAGERS | STAFF,
        lambda w, r: Goal.objects.filter(name="New goal").exists(),
    ),
    Cell(
        "goal change",
        post(lambda w: f"/api/v1/goals/{w.ids['goal']}/", {"target": 70}, method="patch"),
        A_MANAGERS | STAFF,
        lambda w, r: Goal.objects.get(pk=w.ids["goal"]).target == 70,
    ),
    Cell(
        "goal owner from another pair",
        post(
            lambda w: f"/api/v1/goals/{w.ids['goal']}/",
            lambda w: {"owner": w.b.users["mm"].pk},
            method="patch",
        ),
        set(),
        lambda w, r: Goal.objects.get(pk=w.ids["goal"]).owner_id == w.b.users["mm"].pk,
    ),
    Cell(
        "goal delete",
        post(lambda w: f"/api/v1/goals/{w.ids['goal']}/", method="delete"),
        A_MANAGERS | STAFF,
        lambda w, r: not Goal.objects.filter(pk=w.ids["goal"]).exists(),
    ),
    Cell(
        "goal check-in",
        post(
            lambda w: f"/api/v1/goals/{w.ids['goal']}/check-ins/",
            {"on": "2026-12-02", "value": 55},
        ),
        A_ALL | STAFF,
        lambda w, r: Goal.objects.get(pk=w.ids["goal"]).check_ins.exists(),
    ),
    # Leads
    Cell("leads list", get("/api/v1/leads/"), A_ALL | STAFF, seen("victim@a.example")),
    Cell("lead detail", get(lead_url()), A_ALL | STAFF, seen("victim@a.example")),
    Cell(
        "lead create (upsert)",
        post(
            "/api/v1/leads/",
            lambda w: {
                "external_id": "new-lead",
                "name": "New",
                "sales_team": w.a.sales.pk,
                "marketing_team": w.a.marketing.pk,
            },
        ),
        A_ALL | STAFF,
        lambda w, r: Lead.objects.filter(external_id="new-lead").exists(),
    ),
    Cell(
        "upsert: change details",
        post("/api/v1/leads/", upsert(company="Taken")),
        A_ALL | STAFF,
        lambda w, r: lead_of(w).company == "Taken",
    ),
    Cell(
        "upsert: change owner",
        post("/api/v1/leads/", upsert(owner=rep2)),
        {"a_sm"} | STAFF,
        lambda w, r: lead_of(w).owner_id == rep2(w),
    ),
    Cell(
        "upsert: owner by email",
        post("/api/v1/leads/", upsert(owner_email="a_rep2@example.com")),
        {"a_sm"} | STAFF,
        lambda w, r: lead_of(w).owner_id == rep2(w),
    ),
    Cell(
        "upsert: owner from another pair",
        post("/api/v1/leads/", upsert(owner=lambda w: w.b.users["rep"].pk)),
        set(),
        lambda w, r: lead_of(w).owner_id == w.b.users["rep"].pk,
    ),
    Cell(
        "upsert: reject",
        post("/api/v1/leads/", upsert(stage="rejected", rejection_reason="no-budget")),
        A_SALES | STAFF,
        lambda w, r: lead_of(w).stage == "rejected",
    ),
    Cell(
        "upsert: accept",
        post("/api/v1/leads/", upsert(stage="sal")),
        A_SALES | STAFF,
        lambda w, r: lead_of(w).accepted_at is not None,
    ),
    Cell(
        "bulk: change owner",
        post("/api/v1/leads/bulk/", lambda w: {"leads": [upsert(owner=rep2)(w)]}),
        {"a_sm"} | STAFF,
        lambda w, r: lead_of(w).owner_id == rep2(w),
    ),
    Cell(
        "bulk: reject",
        post(
            "/api/v1/leads/bulk/",
            lambda w: {"leads": [upsert(stage="rejected", rejection_reason="no-budget")(w)]},
        ),
        A_SALES | STAFF,
        lambda w, r: lead_of(w).stage == "rejected",
    ),
    Cell(
        "lead change details",
        post(lead_url(), {"company": "Taken"}, method="patch"),
        A_ALL | STAFF,
        lambda w, r: lead_of(w).company == "Taken",
    ),
    Cell(
        "lead reassign",
        post(lead_url(), lambda w: {"owner": rep2(w)}, method="patch"),
        {"a_sm"} | STAFF,
        lambda w, r: lead_of(w).owner_id == rep2(w),
    ),
    Cell(
        "lead hand-off",
        post(lambda w: f"/api/v1/leads/{w.ids['fresh']}/hand-off/"),
        A_ALL | STAFF,
        lambda w, r: Lead.objects.get(pk=w.ids["fresh"]).handed_off_at is not None,
    ),
    Cell(
        "lead accept",
        post(lead_url("accept/")),
        A_SALES | STAFF,
        lambda w, r: lead_of(w).accepted_at is not None,
    ),
    Cell(
        "lead reject",
        post(lead_url("reject/"), {"reason": "no-budget"}),
        A_SALES | STAFF,
        lambda w, r: lead_of(w).stage == "rejected",
    ),
    Cell(
        "lead stage sql",
        post(lead_url("stage/"), {"stage": "sql"}),
        A_ALL | STAFF,
        lambda w, r: lead_of(w).stage == "sql",
    ),
    Cell(
        "lead stage sal (accept)",
        post(lead_url("stage/"), {"stage": "sal"}),
        A_SALES | STAFF,
        lambda w, r: lead_of(w).accepted_at is not None,
    ),
    # Touches, clocks, breaches
    Cell("activities list", get("/api/v1/activities/"), A_ALL | STAFF, seen("victim touch")),
    Cell(
        "activity detail",
        get(lambda w: f"/api/v1/activities/{w.ids['touch']}/"),
        A_ALL | STAFF,
        seen("victim touch"),
    ),
    Cell(
        "touch log",
        post(
            "/api/v1/activities/",
            lambda w: {"lead": w.ids["lead"], "kind": "email", "occurred_at": _iso_now()},
        ),
        A_SALES | STAFF,
        lambda w, r: Activity.objects.filter(lead_id=w.ids["lead"]).count() == 2,
    ),
    Cell(
        "touch log as a colleague",
        post(
            "/api/v1/activities/",
            lambda w: {
                "lead": w.ids["lead"],
                "kind": "email",
                "occurred_at": _iso_now(),
                "user": rep2(w),
            },
        ),
        {"a_sm"} | STAFF,
        lambda w, r: Activity.objects.filter(user_id=rep2(w)).exists(),
    ),
    Cell(
        "touch undo",
        post(lambda w: f"/api/v1/activities/{w.ids['touch']}/undo/"),
        A_SALES | STAFF,
        lambda w, r: not Activity.objects.filter(pk=w.ids["touch"]).exists(),
    ),
    Cell(
        "obligations list",
        get(lambda w: f"/api/v1/obligations/?lead={w.ids['lead']}"),
        A_ALL | STAFF,
        lambda w, r: r.status_code == 200 and r.json()["count"] > 0,
    ),
    Cell(
        "obligation detail",
        get(lambda w: f"/api/v1/obligations/{w.ids['obligation']}/"),
        A_ALL | STAFF,
        seen('"kind"'),
    ),
    Cell(
        "breaches list",
        get(lambda w: f"/api/v1/breaches/?lead={_late(w)}"),
        A_ALL | STAFF,
        lambda w, r: r.status_code == 200 and r.json()["count"] > 0,
    ),
    Cell(
        "breach detail",
        get(lambda w: f"/api/v1/breaches/{w.ids['breach']}/"),
        A_ALL | STAFF,
        seen('"first_touch"'),
    ),
    Cell(
        "breach acknowledge",
        post(lambda w: f"/api/v1/breaches/{w.ids['breach']}/acknowledge/", {"note": "x"}),
        A_SALES | STAFF,  # the breached rep, or a manager of his team
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).status == "acknowledged",
    ),
    Cell(
        "breach dispute",
        post(lambda w: f"/api/v1/breaches/{w.ids['breach']}/dispute/", {"reason": "x"}),
        A_SALES | STAFF,
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).status == "disputed",
    ),
    Cell(
        "breach resolve",
        post(lambda w: f"/api/v1/breaches/{w.ids['breach']}/resolve/", {"resolution": "waived"}),
        {"a_mm"} | STAFF,  # the other side's manager
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).status == "resolved",
    ),
    # Webhooks and imports: the owner's own
    Cell("webhooks list", get("/api/v1/webhooks/"), {"a_sm"} | STAFF, seen("a.example/hook")),
    Cell(
        "webhook detail",
        get(lambda w: f"/api/v1/webhooks/{w.ids['subscription']}/"),
        {"a_sm"} | STAFF,
        seen("a.example/hook"),
    ),
    Cell(
        "webhook create (one's own)",
        post("/api/v1/webhooks/", {"url": "https://x.example/h", "events": ["breach.created"]}),
        set(ROLES) - {"anon"},
        lambda w, r: WebhookSubscription.objects.filter(url="https://x.example/h").exists(),
    ),
    Cell(
        "webhook change",
        post(lambda w: f"/api/v1/webhooks/{w.ids['subscription']}/", {"name": "X"}, "patch"),
        {"a_sm"} | STAFF,
        lambda w, r: WebhookSubscription.objects.get(pk=w.ids["subscription"]).name == "X",
    ),
    Cell(
        "webhook deliveries",
        get(lambda w: f"/api/v1/webhooks/{w.ids['subscription']}/deliveries/"),
        {"a_sm"} | STAFF,
        seen('"results"'),
    ),
    Cell(
        "webhook delete",
        post(lambda w: f"/api/v1/webhooks/{w.ids['subscription']}/", method="delete"),
        {"a_sm"} | STAFF,
        lambda w, r: not WebhookSubscription.objects.filter(pk=w.ids["subscription"]).exists(),
    ),
    Cell("imports list", get("/api/v1/imports/"), {"a_mk"} | STAFF, seen("victim.csv")),
    Cell(
        "import detail",
        get(lambda w: f"/api/v1/imports/{w.ids['import']}/"),
        {"a_mk"} | STAFF,
        seen("victim.csv"),
    ),
    Cell(
        "import rows",
        get(lambda w: f"/api/v1/imports/{w.ids['import']}/rows/"),
        {"a_mk"} | STAFF,
        seen('"results"'),
    ),
    Cell(
        "import into A's teams",
        post(
            "/api/v1/imports/",
            lambda w: {
                "content": "Id\n9\n",
                "preset": "custom",
                "mapping": {"external_id": "Id"},
                "sales_team": w.a.sales.pk,
            },
        ),
        A_ALL | STAFF,
        lambda w, r: Import.objects.filter(content="Id\n9\n").exists(),
    ),
    # Reports
    Cell(
        "compliance report",
        get(lambda w: f"/api/v1/reports/compliance/?agreement={w.a.agreement.pk}"),
        A_ALL | STAFF,
        lambda w, r: r.status_code == 200,
    ),
    Cell(
        "funnel report",
        get(lambda w: f"/api/v1/reports/funnel/?agreement={w.a.agreement.pk}"),
        A_ALL | STAFF,
        lambda w, r: r.status_code == 200,
    ),
    Cell(
        "funnel report of the draft",
        get(lambda w: f"/api/v1/reports/funnel/?agreement={w.ids['draft']}"),
        A_SALES | STAFF,  # its sales side's own figures; never the draft's creator
        lambda w, r: r.status_code == 200,
    ),
]


def _late(w) -> int:
    return Breach.objects.get(pk=w.ids["breach"]).lead_id


def _iso_now() -> str:
    return timezone.now().isoformat()


def page(name: str, url, allowed, happened, data=None) -> Cell:
    request = get(url) if data is None else post(url, data)
    return Cell(name, request, allowed, happened, api=False)


PAGE_CELLS = [
    page(
        "lead page", lambda w: f"/leads/{w.ids['lead']}/", A_ALL | STAFF, seen("victim@a.example")
    ),
    page(
        "log a touch",
        lambda w: f"/leads/{w.ids['lead']}/activities/",
        A_SALES | STAFF,
        lambda w, r: Activity.objects.filter(lead_id=w.ids["lead"]).count() == 2,
        data={"kind": "call", "outcome": "attempted"},
    ),
    page(
        "accept",
        lambda w: f"/leads/{w.ids['lead']}/accept/",
        A_SALES | STAFF,
        lambda w, r: lead_of(w).accepted_at is not None,
        data={},
    ),
    page(
        "reject",
        lambda w: f"/leads/{w.ids['lead']}/reject/",
        A_SALES | STAFF,
        lambda w, r: lead_of(w).stage == "rejected",
        data={"reason": "no-budget"},
    ),
    page(
        "stage",
        lambda w: f"/leads/{w.ids['lead']}/stage/",
        A_ALL | STAFF,
        lambda w, r: lead_of(w).stage == "sql",
        data={"stage": "sql"},
    ),
    page(
        "reassign",
        lambda w: f"/leads/{w.ids['lead']}/reassign/",
        {"a_sm"} | STAFF,
        lambda w, r: lead_of(w).owner_id == rep2(w),
        data=lambda w: {"owner": rep2(w)},
    ),
    page(
        "undo a touch",
        lambda w: f"/activities/{w.ids['touch']}/undo/",
        A_SALES | STAFF,
        lambda w, r: not Activity.objects.filter(pk=w.ids["touch"]).exists(),
        data={},
    ),
    page("lead list", "/leads/", A_ALL | STAFF, seen("Victim Lead")),
    page("lead list search", "/leads/?q=victim", A_ALL | STAFF, seen("Victim Lead")),
    page("lead export", "/leads/export.csv", A_ALL | STAFF, streamed("victim@a.example")),
    page(
        "bulk assign",
        "/leads/bulk/",
        {"a_sm"} | STAFF,
        lambda w, r: lead_of(w).owner_id == rep2(w),
        data=lambda w: {"action": "assign", "leads": [w.ids["lead"]], "owner": rep2(w)},
    ),
    page(
        "bulk hand-off",
        "/leads/bulk/",
        A_ALL | STAFF,
        lambda w, r: Lead.objects.get(pk=w.ids["fresh"]).handed_off_at is not None,
        data=lambda w: {"action": "hand_off", "leads": [w.ids["fresh"]]},
    ),
    page(
        "hand-off button",
        lambda w: f"/leads/{w.ids['fresh']}/hand-off/",
        A_ALL | STAFF,
        lambda w, r: Lead.objects.get(pk=w.ids["fresh"]).handed_off_at is not None,
        data={},
    ),
    page(
        "lead form to A's sales team",
        "/leads/new/",
        A_ALL | STAFF,
        lambda w, r: Lead.objects.filter(name="Made here").exists(),
        data=lambda w: {"name": "Made here", "sales_team": w.a.sales.pk},
    ),
    page(
        "import page",
        lambda w: f"/imports/{w.ids['import']}/",
        {"a_mk"} | STAFF,
        seen("victim.csv"),
    ),
    page(
        "import report",
        lambda w: f"/imports/{w.ids['import']}/report.csv",
        {"a_mk"} | STAFF,
        streamed("row,result"),
    ),
    page(
        "import preview to A's sales team",
        "/imports/preview/",
        A_ALL | STAFF,
        seen("Start import of 1 row"),
        data=lambda w: {
            "file": SimpleUploadedFile("x.csv", b"Id,Name\nm-1,Imported\n"),
            "preset": "custom",
            "mapping": "external_id: Id\nname: Name",
            "sales_team": w.a.sales.pk,
        },
    ),
    page("queue", "/queue/", {"a_rep"}, seen("Victim Lead")),
    page("team home", "/team/", {"a_sm"} | STAFF, seen("Sales a")),
    page("marketing home", "/marketing/", A_MARKETING | STAFF, seen("Marketing a")),
    page(
        "marketing home: the draft",
        lambda w: f"/marketing/?agreement={w.ids['draft']}",
        STAFF,  # its creator sees no figures of A's sales team
        seen("Takeover draft"),
    ),
    page("breach inbox", "/breaches/", A_ALL | STAFF, seen("Late Lead")),
    page(
        "breach page", lambda w: f"/breaches/{w.ids['breach']}/", A_ALL | STAFF, seen("Late Lead")
    ),
    page(
        "breach acknowledge",
        lambda w: f"/breaches/{w.ids['breach']}/acknowledge/",
        A_SALES | STAFF,
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).status == "acknowledged",
        data={"note": "x"},
    ),
    page(
        "breach dispute",
        lambda w: f"/breaches/{w.ids['breach']}/dispute/",
        A_SALES | STAFF,
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).status == "disputed",
        data={"reason": "x"},
    ),
    page(
        "breach resolve",
        lambda w: f"/breaches/{w.ids['breach']}/resolve/",
        {"a_mm"} | STAFF,
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).status == "resolved",
        data={"resolution": "waived"},
    ),
    page(
        "breach comment",
        lambda w: f"/breaches/{w.ids['breach']}/comments/",
        A_ALL | STAFF,
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).comments.exists(),
        data={"body": "x"},
    ),
    page(
        "bulk acknowledge",
        "/breaches/acknowledge/",
        A_SALES | STAFF,  # the breached rep, or a manager of his team
        lambda w, r: Breach.objects.get(pk=w.ids["breach"]).status == "acknowledged",
        data=lambda w: {"breaches": [w.ids["breach"]], "note": "x"},
    ),
    page(
        "contested rejections",
        "/breaches/contests/",
        A_ALL | STAFF,  # both sides see the contest and its decision
        seen("Contested Lead"),
    ),
    page(
        "contest a rejection",
        lambda w: f"/leads/{w.ids['rejected']}/contest/",
        {"a_mm"} | STAFF,  # marketing's manager
        lambda w, r: RejectionContest.objects.filter(lead_id=w.ids["rejected"]).exists(),
        data={"reason": "x"},
    ),
    page(
        "decide a contested rejection",
        lambda w: f"/contests/{w.ids['contest']}/decide/",
        {"a_sm"} | STAFF,  # the lead's sales manager
        lambda w, r: RejectionContest.objects.get(pk=w.ids["contest"]).decision == "returned",
        data={"decision": "returned"},
    ),
    page("agreements page", "/agreements/", A_ALL | STAFF, seen("Pact a")),
    page(
        "agreement page",
        lambda w: f"/agreements/{w.a.agreement.pk}/",
        A_ALL | STAFF,
        seen("Pact a"),
    ),
    page(
        "commitment add",
        lambda w: f"/agreements/{w.ids['second']}/versions/1/commitments/",
        A_MANAGERS | STAFF,
        lambda w, r: Commitment.objects.filter(version__agreement_id=w.ids["second"]).count() == 2,
        data={
            "kind": "disposition",
            "within": "P1D",
            "clock": "business",
            "order": 1,
            "min_sample": 0,
        },
    ),
    page(
        "commitment remove",
        lambda w: (
            f"/agreements/{w.ids['second']}/versions/1/commitments/{w.ids['commitment']}/remove/"
        ),
        A_MANAGERS | STAFF,
        lambda w, r: not Commitment.objects.filter(pk=w.ids["commitment"]).exists(),
        data={},
    ),
    page(
        "propose",
        lambda w: f"/agreements/{w.ids['second']}/versions/1/propose/",
        A_MANAGERS | STAFF,
        lambda w, r: (
            AgreementVersion.objects.get(agreement_id=w.ids["second"]).status == "proposed"
        ),
        data={},
    ),
    page(
        "sign",
        lambda w: f"/agreements/{w.a.agreement.pk}/versions/2/sign/",
        A_MANAGERS,
        lambda w, r: AgreementVersion.objects.get(
            agreement=w.a.agreement, number=2
        ).signatures.exists(),
        data={},
    ),
    page(
        "comment on a term",
        lambda w: f"/agreements/{w.a.agreement.pk}/versions/2/comments/",
        A_ALL | STAFF,  # both sides argue the terms; only managers change or sign them
        lambda w, r: TermComment.objects.filter(version__agreement=w.a.agreement).exists(),
        data=lambda w: {"clause": w.ids["clause"], "body": "Too tight for Tier B."},
    ),
    page(
        "return a proposal to draft",
        lambda w: f"/agreements/{w.a.agreement.pk}/versions/2/reopen/",
        A_MANAGERS | STAFF,
        lambda w, r: (
            AgreementVersion.objects.get(agreement=w.a.agreement, number=2).status == "draft"
        ),
        data={"reason": "x"},
    ),
    page(
        "quota calculator",
        lambda w: f"/agreements/{w.ids['second']}/versions/1/quota/",
        A_MANAGERS | STAFF,
        seen("Work it out"),
    ),
    page(
        "quota calculator: into the draft",
        lambda w: f"/agreements/{w.ids['second']}/versions/1/quota/apply/",
        A_MANAGERS | STAFF,
        lambda w, r: Commitment.objects.filter(
            version__agreement_id=w.ids["second"], kind="lead_volume", target=120
        ).exists(),
        data={
            "revenue_goal": "600000",
            "period": "month",
            "marketing_share_pct": "50",
            "average_deal": "10000",
            "sql_to_won_pct": "25",
            "sal_to_sql_pct": "40",
            "mql_to_sal_pct": "60",
            "stage": "sql",
        },
    ),
    page(
        "compliance page",
        lambda w: f"/reports/compliance/?agreement={w.a.agreement.pk}",
        A_ALL | STAFF,
        lambda w, r: r.status_code == 200 and "Select a valid choice" not in r.content.decode(),
    ),
    page(
        "funnel page",
        lambda w: f"/reports/funnel/?agreement={w.a.agreement.pk}",
        A_ALL | STAFF,
        lambda w, r: r.status_code == 200 and "Select a valid choice" not in r.content.decode(),
    ),
    page(
        "leads report page",
        lambda w: f"/reports/leads/?agreement={w.a.agreement.pk}&metric=first_touch",
        A_ALL | STAFF,
        lambda w, r: r.status_code == 200 and "Select a valid choice" not in r.content.decode(),
    ),
    page(
        "review pack",
        lambda w: f"/reports/review/?agreement={w.a.agreement.pk}",
        A_ALL | STAFF,
        seen("Pact a"),
    ),
    page(
        "version draft (one is open)",
        lambda w: f"/agreements/{w.a.agreement.pk}/versions/",
        set(),  # v2 is still proposed: nobody starts v3
        lambda w, r: w.a.agreement.versions.count() > 2,
        data={},
    ),
    page(
        "scorecard page",
        lambda w: f"/reports/scorecard/?agreement={w.a.agreement.pk}",
        A_ALL | STAFF,
        seen("Pact a"),
    ),
    # Settings
    page("calendars settings", "/settings/calendars/", A_ALL | STAFF, seen("Calendar a")),
    page(
        "holiday add",
        lambda w: f"/settings/calendars/{w.a.sales.calendar_id}/holidays/",
        A_MANAGERS | STAFF,
        lambda w, r: Holiday.objects.filter(name="Added").exists(),
        data={"date": "2027-03-03", "name": "Added"},
    ),
    page(
        "holiday delete",
        lambda w: f"/settings/holidays/{w.ids['holiday']}/delete/",
        A_MANAGERS | STAFF,
        lambda w, r: not Holiday.objects.filter(pk=w.ids["holiday"]).exists(),
        data={},
    ),
    page("teams settings", "/settings/teams/", A_ALL | STAFF, seen("a_rep2")),
    page(
        "member add",
        lambda w: f"/settings/teams/{w.a.sales.pk}/members/",
        {"a_sm"} | STAFF,
        lambda w, r: Membership.objects.filter(team=w.a.sales, user__username="b_rep").exists(),
        data={"username": "b_rep", "role": "member"},
    ),
    page(
        "member remove",
        lambda w: f"/settings/teams/{w.a.sales.pk}/members/{rep2(w)}/remove/",
        {"a_sm"} | STAFF,
        lambda w, r: not Membership.objects.filter(team=w.a.sales, user_id=rep2(w)).exists(),
        data={},
    ),
    page(
        "demote the last manager",
        lambda w: f"/settings/teams/{w.a.sales.pk}/members/",
        set(),  # a team always keeps a manager, whoever asks
        lambda w, r: not Membership.objects.filter(team=w.a.sales, role="manager").exists(),
        data={"username": "a_sm", "role": "member"},
    ),
    page(
        "invite to A's sales team",
        lambda w: f"/settings/teams/{w.a.sales.pk}/invitations/",
        {"a_sm"} | STAFF,
        lambda w, r: Invitation.objects.filter(email="invited@new.example").exists(),
        data={"email": "invited@new.example", "role": "member"},
    ),
    page(
        "role change",
        lambda w: f"/settings/teams/{w.a.sales.pk}/members/{rep2(w)}/role/",
        {"a_sm"} | STAFF,
        lambda w, r: Membership.objects.filter(
            team=w.a.sales, user_id=rep2(w), role="manager"
        ).exists(),
        data={"role": "manager"},
    ),
    page(
        "demote the last manager (role)",
        lambda w: f"/settings/teams/{w.a.sales.pk}/members/{w.a.users['sm'].pk}/role/",
        set(),  # a team always keeps a manager, whoever asks
        lambda w, r: not Membership.objects.filter(team=w.a.sales, role="manager").exists(),
        data={"role": "member"},
    ),
    page(
        "hours editor",
        lambda w: f"/settings/calendars/{w.a.sales.calendar_id}/hours/",
        A_MANAGERS | STAFF,
        seen("Working hours of Calendar a"),
    ),
    page(
        "hours save",
        lambda w: f"/settings/calendars/{w.a.sales.calendar_id}/hours/",
        A_MANAGERS | STAFF,
        lambda w, r: WorkingHours.objects.filter(calendar_id=w.a.sales.calendar_id).count() == 1,
        data={"day_0": "10:00-11:00", "save": "1"},
    ),
    page(
        "public holidays",
        lambda w: f"/settings/calendars/{w.a.sales.calendar_id}/public-holidays/",
        A_MANAGERS | STAFF,
        lambda w, r: BusinessCalendar.objects.get(pk=w.a.sales.calendar_id).holiday_country == "FR",
        data={"country": "FR"},
    ),
    page("first-run setup (teams exist)", "/settings/setup/", set(), seen("First-run setup")),
    page("webhook sources", "/settings/webhook-sources/", STAFF, seen("Victim CRM")),
    page(
        "webhook source add",
        "/settings/webhook-sources/",
        STAFF,
        lambda w, r: WebhookSource.objects.filter(slug="added").exists(),
        data={"name": "Added", "slug": "added"},
    ),
    page(
        "webhook source rotate",
        lambda w: f"/settings/webhook-sources/{w.ids['source']}/rotate/",
        STAFF,
        lambda w, r: WebhookSource.objects.get(pk=w.ids["source"]).secret in r.content.decode(),
        data={},
    ),
    page(
        "webhook source off",
        lambda w: f"/settings/webhook-sources/{w.ids['source']}/toggle/",
        STAFF,
        lambda w, r: not WebhookSource.objects.get(pk=w.ids["source"]).is_active,
        data={},
    ),
    page(
        "reason add to A's list",
        "/settings/rejection-reasons/",
        {"a_sm"} | STAFF,  # a sales team's list, kept by its managers
        lambda w, r: RejectionReason.objects.filter(code="added", team=w.a.sales).exists(),
        data=lambda w: {"label": "Added", "code": "added", "order": 2, "team": w.a.sales.pk},
    ),
    page(
        "reason toggle",
        lambda w: f"/settings/rejection-reasons/{w.ids['reason']}/toggle/",
        {"a_sm"} | STAFF,
        lambda w, r: not RejectionReason.objects.get(pk=w.ids["reason"]).is_active,
        data={},
    ),
]


def _connector_form(w) -> dict:
    return {
        "sales_team": w.a.sales.pk,
        "marketing_team": w.a.marketing.pk,
        "run_as": w.a.users["sm"].pk,
        "enabled": "on",
        "stage_map": "closedwon = won",
        "writeback_sla_status": "victim_sla_status",
    }


def _connector():
    from connectors.models import Connector

    return Connector.objects.get(kind="hubspot")


ANY_MANAGER = {"a_sm", "a_mm", "b_sm", "b_mm"}
PAGE_CELLS += [
    # CRM connectors: set up by staff and team managers, each connector by its teams' managers
    page("connectors page", "/settings/connectors/", ANY_MANAGER | STAFF, seen("CRM connectors")),
    page(
        "connector settings",
        "/settings/connectors/hubspot/",
        A_MANAGERS | STAFF,
        seen("victim_sla_status"),
    ),
    page(
        "connector save",
        "/settings/connectors/hubspot/",
        A_MANAGERS | STAFF,
        lambda w, r: _connector().settings["stage_map"] == {"closedwon": "won"},
        data=_connector_form,
    ),
    page(
        "connector sync now",
        "/settings/connectors/hubspot/sync/",
        A_MANAGERS | STAFF,
        lambda w, r: _connector().runs.exists(),
        data={},
    ),
]


def _sales_url(suffix: str = "") -> Callable:
    return lambda w: f"/api/v1/teams/{w.a.sales.pk}/{suffix}"


def _calendar_url(w) -> str:
    return f"/api/v1/calendars/{w.a.sales.calendar_id}/"


# The provisioning API (docs/api.md "Provisioning a company"): the pages' rules.
PROVISIONING_CELLS = [
    Cell(
        "API team create",
        post("/api/v1/teams/", {"name": "Made by API", "side": "sales"}),
        STAFF,
        lambda w, r: Team.objects.filter(name="Made by API").exists(),
    ),
    Cell(
        "API team rename",
        post(_sales_url(), {"name": "Renamed a"}, method="patch"),
        {"a_sm"} | STAFF,
        lambda w, r: Team.objects.filter(name="Renamed a").exists(),
    ),
    Cell(
        "API member add",
        post(_sales_url("members/"), {"username": "b_rep"}),
        {"a_sm"} | STAFF,
        lambda w, r: Membership.objects.filter(team=w.a.sales, user__username="b_rep").exists(),
    ),
    Cell(
        "API member invite",
        post(_sales_url("members/"), {"email": "api-invited@new.example"}),
        {"a_sm"} | STAFF,
        lambda w, r: Invitation.objects.filter(email="api-invited@new.example").exists(),
    ),
    Cell(
        "API member role",
        post(lambda w: _sales_url(f"members/{rep2(w)}/")(w), {"role": "manager"}, method="patch"),
        {"a_sm"} | STAFF,
        lambda w, r: Membership.objects.filter(
            team=w.a.sales, user_id=rep2(w), role="manager"
        ).exists(),
    ),
    Cell(
        "API member remove",
        post(lambda w: _sales_url(f"members/{rep2(w)}/")(w), method="delete"),
        {"a_sm"} | STAFF,
        lambda w, r: not Membership.objects.filter(team=w.a.sales, user_id=rep2(w)).exists(),
    ),
    Cell(
        "API remove the last manager",
        post(lambda w: _sales_url(f"members/{w.a.users['sm'].pk}/")(w), method="delete"),
        set(),  # a team always keeps a manager, whoever asks
        lambda w, r: not Membership.objects.filter(team=w.a.sales, role="manager").exists(),
    ),
    Cell(
        "API calendar create",
        post(
            "/api/v1/calendars/",
            {
                "name": "Made by API",
                "timezone": "UTC",
                "hours": [{"weekday": 0, "start": "09:00:00", "end": "17:00:00"}],
            },
        ),
        STAFF,
        lambda w, r: BusinessCalendar.objects.filter(name="Made by API").exists(),
    ),
    Cell(
        "API calendar hours",
        post(
            _calendar_url,
            {"hours": [{"weekday": 0, "start": "10:00:00", "end": "11:00:00"}]},
            method="patch",
        ),
        A_MANAGERS | STAFF,
        lambda w, r: WorkingHours.objects.filter(calendar_id=w.a.sales.calendar_id).count() == 1,
    ),
    Cell(
        "API calendar holidays",
        post(
            _calendar_url, {"holidays": [{"date": "2027-03-03", "name": "Added"}]}, method="patch"
        ),
        A_MANAGERS | STAFF,
        lambda w, r: Holiday.objects.filter(name="Added").exists(),
    ),
    Cell(
        "API calendar rename",
        post(_calendar_url, {"name": "Renamed calendar"}, method="patch"),
        STAFF,
        lambda w, r: BusinessCalendar.objects.filter(name="Renamed calendar").exists(),
    ),
    Cell(
        "API reasons list",
        get("/api/v1/rejection-reasons/"),
        A_SALES | STAFF,
        seen("no-budget"),
    ),
    Cell(
        "API reason add to A's list",
        post(
            "/api/v1/rejection-reasons/",
            lambda w: {"team": w.a.sales.pk, "code": "added", "label": "Added"},
        ),
        {"a_sm"} | STAFF,
        lambda w, r: RejectionReason.objects.filter(code="added", team=w.a.sales).exists(),
    ),
    Cell(
        "API reason for every team",
        post("/api/v1/rejection-reasons/", {"team": None, "code": "global", "label": "Global"}),
        STAFF,
        lambda w, r: RejectionReason.objects.filter(code="global").exists(),
    ),
    Cell(
        "API reason off the list",
        post(
            lambda w: f"/api/v1/rejection-reasons/{w.ids['reason']}/",
            {"is_active": False},
            method="patch",
        ),
        {"a_sm"} | STAFF,
        lambda w, r: not RejectionReason.objects.get(pk=w.ids["reason"]).is_active,
    ),
]

CELLS = API_CELLS + PAGE_CELLS + PROVISIONING_CELLS


# The run ------------------------------------------------------------------------------------


def clients(w: World) -> dict:
    """(role, api?) → a signed-in client, made once (outside the cells' savepoints)."""
    made = {}
    for role, user in w.actors.items():
        api, browser = APIClient(), Client()
        if user is not None:
            api.force_authenticate(user)
            browser.force_login(user)
        made[role, True], made[role, False] = api, browser
    return made


def run(w: World, cell: Cell, role: str, made: dict) -> bool | str:
    method, url, data = cell.request(w)
    client = made[role, cell.api]
    with transaction.atomic():
        try:
            if cell.api:
                response = getattr(client, method)(url, data, format="json")
            else:
                response = getattr(client, method)(url, data or {})
            outcome = bool(cell.happened(w, response))
        except Exception as exc:  # a crash is a finding of its own
            outcome = f"crashed: {exc!r}"
        transaction.set_rollback(True)
    client.cookies.pop("messages", None)  # a page's flash message is no cell's business
    return outcome


def test_the_permission_matrix_has_no_leaks(require_postgres):
    cache.clear()
    w = build_world()
    made = clients(w)
    findings = []
    for cell in CELLS:
        for role in ROLES:
            got = run(w, cell, role, made)
            expected = role in cell.allowed
            if got is not expected:
                kind = "LEAK" if got is True else ("REFUSED" if got is False else got)
                findings.append(f"{kind:8} {cell.name:34} {role}")
        cache.clear()  # the API throttles count per user
    total = len(CELLS) * len(ROLES)
    assert findings == [], f"{len(findings)} of {total} cells differ:\n" + "\n".join(findings)
    assert total > 800
