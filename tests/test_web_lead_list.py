"""The lead list: who sees which leads, search, filters (the SLA state from the clocks),
sort, pagination, bulk assign and hand-off, CSV export; the lead form and the hand-off
button on the lead page.

The clocks (Berlin, Mon–Fri 09:00–17:00): a first touch within 4 business hours and a
decision within 2 business days, in force since 1 Nov 2026. It is Wed 25 Nov 10:00.
- Anna (Acme), handed off today 09:00: first touch due 13:00, decision Fri 09:00: running.
- Bernd (Globex), handed off Tue 09:00, untouched: first touch missed Tue 13:00 (the scan
  recorded it) and still owed: overdue and breached; his decision (Thu 09:00) still runs.
- Carla (Initech), handed off Tue 09:00, called 09:30 and accepted 09:45: met.
- Dora (Umbrella), imported, not handed off: no clock, unassigned.
- Eve, of another sales team with no agreement: nobody here sees her but staff."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.models import Membership, Side, Team
from leads import checks, services
from leads.models import Lead, Obligation
from tests.factories import activate, add_commitment, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
TODAY = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def world(org, frozen):
    add_commitment(org.version, "first_touch", within="PT4H")
    add_commitment(org.version, "disposition", within="P2D")
    activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
    leads = {
        "anna": make_lead(
            org, now=NOW, handed_off_at=TODAY, name="Anna Weber", company="Acme",
            email="anna@acme.example", tier="A", lead_source="Webinar", campaign="Q4",
        ),
        "bernd": make_lead(
            org, now=NOW, handed_off_at=TUESDAY, name="Bernd Koch", company="Globex",
            email="bernd@globex.example", tier="B", lead_source="Ads",
        ),
        "carla": make_lead(
            org, now=NOW, handed_off_at=TUESDAY, name="Carla Diaz", company="Initech",
            email="carla@initech.example", tier="A", lead_source="Webinar",
        ),
        "dora": make_lead(
            org, now=NOW, name="Dora Fink", company="Umbrella", owner=None,
            external_id="SF-00Q42", source_system="salesforce",
        ),
    }  # fmt: skip
    services.activity_log(
        lead=leads["carla"], kind="call", occurred_at=TUESDAY.replace(minute=30), now=NOW,
        user=org.rep,
    )  # fmt: skip
    services.lead_accept(lead=leads["carla"], at=TUESDAY.replace(minute=45), now=NOW, user=org.rep)
    checks.deadline_scan(now=NOW)
    east = Team.objects.create(name="Sales East", side=Side.SALES)
    org.east_rep = make_user("east_rep")
    Membership.objects.create(team=east, user=org.east_rep, role=Membership.Role.MANAGER)
    leads["eve"] = services.lead_create(
        external_id="east-1", name="Eve East", sales_team=east, owner=org.east_rep, now=NOW
    )
    org.leads = leads
    return org


def names(response) -> list[str]:
    return [lead.name for lead in response.context["page"].object_list]


def listed(client, user, **params) -> list[str]:
    client.force_login(user)
    response = client.get(reverse("lead-list"), params)
    assert response.status_code == 200
    return names(response)


def test_each_person_sees_the_leads_agreements_access_gives_him(client, world):
    ours = ["Dora Fink", "Carla Diaz", "Bernd Koch", "Anna Weber"]  # newest first
    assert listed(client, world.sales_manager) == ours
    assert listed(client, world.marketer) == ours
    assert listed(client, world.east_rep) == ["Eve East"]
    staff = make_user("boss", is_staff=True)
    assert listed(client, staff) == ["Eve East", *ours]


def test_search_finds_name_company_email_or_the_external_id(client, world):
    user = world.sales_manager
    assert listed(client, user, q="weber") == ["Anna Weber"]
    assert listed(client, user, q="GLOBEX") == ["Bernd Koch"]
    assert listed(client, user, q="initech.example") == ["Carla Diaz"]
    assert listed(client, user, q="SF-00Q42") == ["Dora Fink"]
    assert listed(client, user, q="SF-00Q") == []  # an external id is matched whole
    assert listed(client, user, q="east") == []  # Eve is not his to find


def test_filters_combine_and_the_sla_state_comes_from_the_clocks(client, world):
    user = world.sales_manager
    assert listed(client, user, state="running") == ["Bernd Koch", "Anna Weber"]
    assert listed(client, user, state="overdue") == ["Bernd Koch"]
    assert listed(client, user, state="breached") == ["Bernd Koch"]
    assert listed(client, user, state="met") == ["Carla Diaz"]
    assert listed(client, user, stage="new") == ["Dora Fink"]
    assert listed(client, user, stage="sal") == ["Carla Diaz"]
    assert listed(client, user, owner="none") == ["Dora Fink"]
    assert listed(client, user, owner=world.rep.pk) == ["Carla Diaz", "Bernd Koch", "Anna Weber"]
    assert listed(client, user, tier="a", source="webinar") == ["Carla Diaz", "Anna Weber"]
    assert listed(client, user, campaign="Q4") == ["Anna Weber"]
    assert listed(client, user, team=world.sales.pk, state="met") == ["Carla Diaz"]


def test_sorting(client, world):
    user = world.sales_manager
    assert listed(client, user, sort="name") == [
        "Anna Weber",
        "Bernd Koch",
        "Carla Diaz",
        "Dora Fink",
    ]
    # Bernd and Carla were handed off at the same time: the newer record first.
    assert listed(client, user, sort="-handed_off") == [
        "Anna Weber",
        "Carla Diaz",
        "Bernd Koch",
        "Dora Fink",
    ]
    # Bernd's missed first touch (Tue 13:00) is owed first, then Anna's (today 13:00).
    assert listed(client, user, sort="next_due")[:2] == ["Bernd Koch", "Anna Weber"]  # fmt: skip


def test_a_bad_filter_is_shown_next_to_its_field_and_the_others_still_apply(client, world):
    client.force_login(world.sales_manager)
    response = client.get(reverse("lead-list"), {"state": "late", "stage": "new"})
    assert response.status_code == 200
    assert names(response) == ["Dora Fink"]
    assert "Select a valid choice. late is not one of the available choices." in (
        response.content.decode()
    )


def test_the_filter_stays_in_the_pages_links(client, world):
    for n in range(30):
        make_lead(world, now=NOW, name=f"Bulk {n:02}", tier="C")
    client.force_login(world.sales_manager)
    response = client.get(reverse("lead-list"), {"tier": "C", "sort": "name"})
    assert response.context["page"].paginator.count == 30
    assert names(response)[0] == "Bulk 00" and len(names(response)) == 25
    html = response.content.decode()
    assert "?tier=C&amp;sort=name&amp;page=2" in html
    assert 'href="/leads/export.csv?tier=C&amp;sort=name"' in html
    second = client.get(reverse("lead-list"), {"tier": "C", "sort": "name", "page": 2})
    assert names(second) == ["Bulk 25", "Bulk 26", "Bulk 27", "Bulk 28", "Bulk 29"]


def test_the_list_costs_the_same_queries_for_4_leads_or_40(client, world):
    client.force_login(world.sales_manager)
    client.get(reverse("lead-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("lead-list"))
    for n in range(36):
        make_lead(world, now=NOW, handed_off_at=TODAY, name=f"More {n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("lead-list"))
    assert len(names(response)) == 25
    assert len(many) == len(few) <= 12


# CSV export ---------------------------------------------------------------------------------


def exported(client, user, **params) -> list[list[str]]:
    client.force_login(user)
    response = client.get(reverse("lead-export"), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="leads-2026-11-25.csv"'
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_export_is_the_filtered_list_with_every_column(client, world):
    rows = exported(client, world.sales_manager, state="met")
    assert rows[0] == [
        "id", "source system", "external id", "name", "company", "email", "title", "phone",
        "country", "tier", "score", "lead source", "campaign", "stage", "owner", "sales team",
        "marketing team", "handed off at", "accepted at", "rejected at", "next clock due",
    ]  # fmt: skip
    carla = world.leads["carla"]
    assert rows[1:] == [
        [
            str(carla.pk), "manual", carla.external_id, "Carla Diaz", "Initech",
            "carla@initech.example", "", "", "", "A", "0", "Webinar", "", "sal",
            "rep@example.com", "Sales", "Marketing", "2026-11-24T08:00:00+00:00",
            "2026-11-24T08:45:00+00:00", "", "",
        ]
    ]  # fmt: skip


def test_the_export_cannot_smuggle_a_formula_into_a_spreadsheet(client, world):
    for name, company in [
        ('=HYPERLINK("http://evil")', "+1 Corp"),
        ("-2+3", "@SUM(A1)"),
        ("\tTabbed", "\rReturn"),
        ("Plain - name", "a=b"),
    ]:
        make_lead(world, now=NOW, name=name, company=company, tier="X", score=-5)
    rows = exported(client, world.sales_manager, tier="X", sort="created")
    cells = [(row[3], row[4], row[10]) for row in rows[1:]]
    assert cells == [
        ('\'=HYPERLINK("http://evil")', "'+1 Corp", "-5"),  # a number stays a number
        ("'-2+3", "'@SUM(A1)", "-5"),
        ("'\tTabbed", "'\rReturn", "-5"),
        ("Plain - name", "a=b", "-5"),
    ]


def test_the_export_leaves_out_what_the_user_may_not_see(client, world):
    rows = exported(client, world.east_rep)
    assert [row[3] for row in rows[1:]] == ["Eve East"]


# Bulk actions -------------------------------------------------------------------------------


def bulk(client, user, **data):
    client.force_login(user)
    return client.post(reverse("lead-bulk"), data, follow=True)


def said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_manager_assigns_the_ticked_leads_and_each_refusal_is_reported(client, world):
    anna, bernd, eve = (world.leads[k] for k in ("anna", "bernd", "eve"))
    response = bulk(
        client,
        world.sales_manager,
        action="assign",
        leads=[anna.pk, bernd.pk, eve.pk],
        owner=world.rep2.pk,
        query="state=running",
    )
    assert response.redirect_chain == [("/leads/?state=running", 302)]
    assert said(response) == [
        "2 of 3 leads assigned to rep2.",
        f"#{eve.pk}: No such lead (or not one of yours).",
    ]
    assert Lead.objects.get(pk=anna.pk).owner == world.rep2
    assert Lead.objects.get(pk=eve.pk).owner == world.east_rep
    # The running clocks moved to rep2; Bernd's missed first touch stays rep's.
    clocks = Obligation.objects.filter(lead__in=[anna, bernd]).order_by("lead_id", "kind")
    assert [(c.lead.name, c.kind, c.status, c.user.username) for c in clocks] == [
        ("Anna Weber", "disposition", "open", "rep2"),
        ("Anna Weber", "first_touch", "open", "rep2"),
        ("Bernd Koch", "disposition", "open", "rep2"),
        ("Bernd Koch", "first_touch", "breached", "rep"),
    ]


def test_a_rep_cannot_assign_and_an_owner_outside_the_team_is_refused(client, world):
    anna = world.leads["anna"]
    refused = services.leads_bulk_reassign(
        user=world.rep, lead_ids=[anna.pk], owner=world.rep2, now=NOW
    )
    assert [(r.done, r.message) for r in refused] == [
        (False, "Only a manager of the lead's sales team reassigns it.")
    ]
    outsider = services.leads_bulk_reassign(
        user=world.sales_manager, lead_ids=[anna.pk], owner=world.east_rep, now=NOW
    )
    assert [(r.done, r.message) for r in outsider] == [
        (False, "The owner must be a member of the lead's sales team.")
    ]
    assert Lead.objects.get(pk=anna.pk).owner == world.rep
    # The page offers only the people he may assign to: a rep sees no owner choice.
    response = bulk(client, world.rep, action="assign", leads=[anna.pk], owner=world.rep2.pk)
    assert "Select a valid choice." in " ".join(said(response))


def test_bulk_assign_costs_the_same_queries_for_2_leads_or_20(world):
    def assign(ids) -> int:
        with CaptureQueriesContext(connection) as queries:
            services.leads_bulk_reassign(
                user=world.sales_manager, lead_ids=ids, owner=world.rep2, now=NOW
            )
        return len(queries)

    more = [make_lead(world, now=NOW, handed_off_at=TODAY).pk for _ in range(20)]
    assert assign(more[:2]) == assign(more)


def test_bulk_hand_off_starts_the_clocks_of_those_not_yet_handed_off(client, world):
    anna, dora = world.leads["anna"], world.leads["dora"]
    response = bulk(client, world.marketer, action="hand_off", leads=[dora.pk, anna.pk])
    assert said(response) == [
        "1 of 2 leads handed off to sales.",
        "Anna Weber, Acme: This lead has already been handed off.",
    ]
    dora.refresh_from_db()
    assert (dora.stage, dora.handed_off_at) == ("mql", NOW)
    clocks = dora.obligations.order_by("kind").values_list("kind", "due_at")
    assert list(clocks) == [
        ("disposition", datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)),
        ("first_touch", datetime(2026, 11, 25, 14, 0, tzinfo=BERLIN)),
    ]


def test_bulk_without_a_ticked_lead_says_so(client, world):
    response = bulk(client, world.sales_manager, action="hand_off")
    assert said(response) == ["Tick at least one lead."]
    too_many = bulk(client, world.sales_manager, action="hand_off", leads=list(range(1, 102)))
    assert said(too_many) == ["Tick at most 100 leads at a time."]
    nonsense = bulk(client, world.sales_manager, action="hand_off", leads=["1; DROP"])
    assert said(nonsense) == ["Select a valid choice. 1; DROP is not one of the available choices."]


# The lead form and the hand-off button ------------------------------------------------------


def test_marketing_creates_a_lead_and_hands_it_off_from_the_form(client, world):
    client.force_login(world.marketer)
    assert client.get(reverse("lead-new")).status_code == 200
    response = client.post(
        reverse("lead-new"),
        {
            "name": "Frank New",
            "email": "frank@new.example",
            "country": "de",
            "sales_team": world.sales.pk,
            "marketing_team": world.marketing.pk,
            "owner": world.rep.pk,
            "hand_off": "on",
        },
        follow=True,
    )
    lead = Lead.objects.get(name="Frank New")
    assert response.redirect_chain == [(f"/leads/{lead.pk}/", 302)]
    assert said(response) == ["Frank New created and handed off to sales."]
    assert (lead.country, lead.owner, lead.stage, lead.handed_off_at) == (
        "DE", world.rep, "mql", NOW,
    )  # fmt: skip
    assert lead.external_id.startswith("web-")
    assert lead.obligations.count() == 2


def test_the_form_puts_each_refusal_next_to_its_field(client, world):
    client.force_login(world.marketer)
    response = client.post(
        reverse("lead-new"),
        {"name": "", "email": "not-an-email", "sales_team": 999999},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    assert errors["email"] == ["Enter a valid email address."]
    assert errors["sales_team"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    anna = world.leads["anna"]
    again = client.post(
        reverse("lead-new"),
        {"name": "Dup", "external_id": anna.external_id, "sales_team": world.sales.pk},
    )
    assert again.status_code == 400
    assert again.context["form"].errors["external_id"] == [
        "Lead with this Source system and External id already exists."
    ]
    nowhere = client.post(reverse("lead-new"), {"name": "Nowhere"})
    assert nowhere.context["form"].errors["sales_team"] == [
        "Choose the sales team (or marketing team)."
    ]
    assert not Lead.objects.filter(name__in=["Dup", "Nowhere"]).exists()


def test_the_lead_page_hands_off_a_lead_not_yet_handed_off(client, world):
    dora = world.leads["dora"]
    client.force_login(world.marketer)
    page = client.get(reverse("lead-detail", args=[dora.pk])).content.decode()
    assert "Hand off to sales" in page
    response = client.post(reverse("lead-hand-off", args=[dora.pk]), follow=True)
    assert said(response) == ["Handed off to sales. 2 clocks started."]
    assert Lead.objects.get(pk=dora.pk).handed_off_at == NOW
    assert "Hand off to sales</button>" not in response.content.decode()
    again = client.post(reverse("lead-hand-off", args=[dora.pk]), follow=True)
    assert said(again) == ["This lead has already been handed off."]
    client.force_login(world.east_rep)
    assert client.post(reverse("lead-hand-off", args=[dora.pk])).status_code == 404
