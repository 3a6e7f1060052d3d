"""The owner column of a CRM export holds a full name (Salesforce "Lead Owner", HubSpot
"Contact owner"): each row goes to the sales-team member of that name; an unknown or shared
name is a row error naming the column and line."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agreements.models import Membership
from integrations.tasks import run_import
from leads.models import Lead
from tests.factories import make_user

pytestmark = pytest.mark.services


@pytest.fixture
def named(sla):
    """Rep "Ada Lovelace", rep2 "Grace Hopper"; two "Sam Lee"s in sales; an outsider
    "Alan Turing" in no team of the org."""
    for user, first, last in [(sla.rep, "Ada", "Lovelace"), (sla.rep2, "Grace", "Hopper")]:
        user.first_name, user.last_name = first, last
        user.save()
    for username in ("sam1", "sam2"):
        sam = make_user(username, first_name="Sam", last_name="Lee")
        Membership.objects.create(team=sla.sales, user=sam)
    make_user("alan", first_name="Alan", last_name="Turing")
    return sla


def _import(client, text: str, preset: str, team) -> list[dict]:
    upload = SimpleUploadedFile("export.csv", text.encode(), "text/csv")
    answer = client.post(
        "/api/v1/imports/",
        {"file": upload, "preset": preset, "sales_team": team.pk},
        format="multipart",
    )
    assert answer.status_code == 202, answer.json()
    run_import.apply(args=[answer.json()["id"]])
    return client.get(f"/api/v1/imports/{answer.json()['id']}/rows/").json()["results"]


SALESFORCE = (
    "Lead ID,First Name,Last Name,Email,Lead Status,Lead Owner\r\n"
    "00Q1,Kim,One,kim@one.example,Open - Not Contacted,Ada Lovelace\r\n"
    "00Q2,Lou,Two,lou@two.example,Open - Not Contacted,  grace   HOPPER \r\n"
    "00Q3,Max,Three,max@three.example,Open - Not Contacted,Alan Turing\r\n"
    "00Q4,Ned,Four,ned@four.example,Open - Not Contacted,Sam Lee\r\n"
    "00Q5,Oda,Five,oda@five.example,Open - Not Contacted,\r\n"
)


def test_salesforce_lead_owner_names_pick_the_sales_member(named, as_user, frozen):
    rows = _import(as_user(named.marketer), SALESFORCE, "salesforce", named.sales)
    assert [(r["number"], r["result"]) for r in rows] == [
        (2, "created"),
        (3, "created"),  # case and spaces do not matter
        (4, "error"),  # Alan Turing is in no team of the lead's
        (5, "error"),  # two members are called Sam Lee
        (6, "created"),  # no owner given: unassigned
    ]
    owners = dict(Lead.objects.values_list("external_id", "owner__username"))
    assert owners == {"00Q1": "rep", "00Q2": "rep2", "00Q5": None}
    assert rows[2]["columns"] == {"owner_name": "Lead Owner"}
    assert rows[2]["errors"] == {
        "owner_name": ["No member of the lead's sales team is called 'Alan Turing'."]
    }
    assert rows[3]["errors"] == {
        "owner_name": [
            "2 members of the lead's sales team are called 'Sam Lee': give the owner's "
            "email instead."
        ]
    }


def test_hubspot_contact_owner_is_read_the_same_way(named, as_user, frozen):
    text = (
        "Record ID,First Name,Last Name,Email,Lifecycle Stage,Contact owner\r\n"
        "501,Pia,Six,pia@six.example,Sales Qualified Lead,Grace Hopper\r\n"
    )
    rows = _import(as_user(named.marketer), text, "hubspot", named.sales)
    assert [r["result"] for r in rows] == ["created"]
    assert Lead.objects.get(external_id="501").owner == named.rep2


def test_a_reimport_with_a_new_owner_name_reassigns(named, as_user, frozen):
    client = as_user(named.sales_manager)  # reassigning a lead is sales management's
    _import(client, SALESFORCE, "salesforce", named.sales)
    moved = "Lead ID,First Name,Last Name,Email,Lead Status,Lead Owner\r\n"
    moved += "00Q1,Kim,One,kim@one.example,Open - Not Contacted,Grace Hopper\r\n"
    rows = _import(client, moved, "salesforce", named.sales)
    assert [r["result"] for r in rows] == ["updated"]
    assert Lead.objects.get(external_id="00Q1").owner == named.rep2


def test_bulk_upsert_takes_an_owner_name_and_an_email_wins(named, as_user, frozen):
    client = as_user(named.marketer)
    base = {"source_system": "crm", "sales_team": named.sales.pk}
    answer = client.post(
        "/api/v1/leads/bulk/",
        {
            "leads": [
                {**base, "external_id": "b1", "name": "B One", "owner_name": "ada lovelace"},
                {
                    **base,
                    "external_id": "b2",
                    "name": "B Two",
                    "owner_name": "Ada Lovelace",
                    "owner_email": named.rep2.email,
                },
            ]
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    owners = dict(Lead.objects.values_list("external_id", "owner__username"))
    assert owners == {"b1": "rep", "b2": "rep2"}
