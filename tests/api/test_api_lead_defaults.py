"""A lead pushed by a marketing user belongs to that user's marketing team when he has
exactly one, so he can hand it off and change it; with several he names it (a 400 naming
`marketing_team`). Sales users and staff get no default."""

from __future__ import annotations

import pytest

from agreements.models import Membership, Side, Team
from leads.models import Lead

pytestmark = pytest.mark.services


def _push(client, external_id: str, **fields):
    body = {"source_system": "crm", "external_id": external_id, "name": "Ada", **fields}
    return client.post("/api/v1/leads/", body, format="json")


def test_a_marketers_lead_is_his_teams_and_he_hands_it_off(sla, as_user, frozen):
    client = as_user(sla.marketer)
    created = _push(client, "m-1", sales_team=sla.sales.pk)
    assert created.status_code == 201, created.content
    assert created.json()["marketing_team"] == sla.marketing.pk
    lead = created.json()["id"]
    handed = client.post(f"/api/v1/leads/{lead}/hand-off/", {}, format="json")
    assert handed.status_code == 200, handed.content
    assert handed.json()["stage"] == "mql"
    changed = client.patch(f"/api/v1/leads/{lead}/", {"company": "Engines Ltd"}, format="json")
    assert changed.json()["company"] == "Engines Ltd"


def test_a_marketer_in_two_marketing_teams_must_name_one(sla, as_user, frozen):
    second = Team.objects.create(name="Field marketing", side=Side.MARKETING)
    Membership.objects.create(team=second, user=sla.marketer)
    client = as_user(sla.marketer)
    answer = _push(client, "m-2", sales_team=sla.sales.pk)
    assert answer.status_code == 400
    assert list(answer.json()["fields"]) == ["marketing_team"]
    assert not Lead.objects.filter(external_id="m-2").exists()
    named = _push(client, "m-2", sales_team=sla.sales.pk, marketing_team=sla.marketing.pk)
    assert (named.status_code, named.json()["marketing_team"]) == (201, sla.marketing.pk)


def test_an_explicit_null_marketing_team_is_kept(sla, as_user, frozen):
    answer = _push(as_user(sla.marketer), "m-3", sales_team=sla.sales.pk, marketing_team=None)
    assert (answer.status_code, answer.json()["marketing_team"]) == (201, None)


def test_a_reps_lead_gets_no_marketing_team(sla, as_user, frozen):
    answer = _push(as_user(sla.rep), "s-1", sales_team=sla.sales.pk)
    assert (answer.status_code, answer.json()["marketing_team"]) == (201, None)


def test_bulk_items_get_the_marketers_team_and_two_teams_fail_each_item(sla, as_user, frozen):
    client = as_user(sla.marketer)
    items = [{"external_id": f"b-{n}", "name": "Bulk", "sales_team": sla.sales.pk} for n in (1, 2)]
    answer = client.post("/api/v1/leads/bulk/", {"leads": items}, format="json")
    assert answer.json()["counts"]["created"] == 2
    assert set(
        Lead.objects.filter(external_id__startswith="b-").values_list("marketing_team", flat=True)
    ) == {sla.marketing.pk}

    Membership.objects.create(
        team=Team.objects.create(name="Events", side=Side.MARKETING), user=sla.marketer
    )
    items = [{"external_id": f"c-{n}", "name": "Bulk", "sales_team": sla.sales.pk} for n in (1, 2)]
    results = client.post("/api/v1/leads/bulk/", {"leads": items}, format="json").json()
    assert results["counts"]["error"] == 2
    assert [list(r["errors"]) for r in results["results"]] == [["marketing_team"]] * 2


def test_a_marketers_csv_import_is_his_teams_too(sla, as_user, frozen):
    from django.core.files.uploadedfile import SimpleUploadedFile

    answer = as_user(sla.marketer).post(
        "/api/v1/imports/",
        {
            "file": SimpleUploadedFile("a.csv", b"Id,Name\ni-1,Ada\n", "text/csv"),
            "preset": "custom",
            "mapping": '{"external_id": "Id", "name": "Name"}',
        },
        format="multipart",
    )
    assert answer.status_code == 202, answer.content
    assert (answer.json()["sales_team"], answer.json()["marketing_team"]) == (
        None,
        sla.marketing.pk,
    )
