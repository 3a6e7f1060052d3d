"""Hand-made bad input: each answer is a 4xx in the API's one error shape, never a 500.

Nesting, NUL characters, oversized integers, times out of range, an oversized signing
timestamp, an empty or form-encoded body on a JSON endpoint; and the schema's enum for a
breach's (blank) resolution."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from integrations.services import webhook_source_create

pytestmark = pytest.mark.services


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "code", "detail", "fields"}
    assert body["status"] == status and body["code"] == code, body
    return body


def _lead(sla, **fields) -> dict:
    return {
        "source_system": "crm",
        "external_id": "bad-1",
        "name": "Ada",
        "sales_team": sla.sales.pk,
        **fields,
    }


def _raw(client, url: str, body: str, content_type: str = "application/json"):
    return client.generic("POST", url, body.encode(), content_type=content_type)


# JSON bodies ------------------------------------------------------------------------------


def test_json_nested_5000_deep_is_a_parse_error(sla, as_user, frozen):
    body = '{"leads": ' + "[" * 5000 + "]" * 5000 + "}"
    answer = _raw(as_user(sla.marketer), "/api/v1/leads/bulk/", body)
    assert "nested deeper" in _error(answer, 400, "parse_error")["detail"]


def test_json_nested_just_past_the_limit_is_refused_too(sla, as_user, frozen):
    deep = "[" * 40 + "]" * 40  # within Python's recursion, beyond the API's 32 levels
    answer = _raw(
        as_user(sla.marketer),
        "/api/v1/leads/",
        json.dumps(_lead(sla))[:-1] + ', "x": ' + deep + "}",
    )
    _error(answer, 400, "parse_error")


def test_a_nul_character_anywhere_is_a_parse_error(sla, as_user, frozen):
    manager = as_user(sla.sales_manager)
    base = f"/api/v1/agreements/{sla.agreement.pk}"
    assert manager.post(f"{base}/versions/", {"summary": "v2"}, format="json").status_code == 201
    answer = manager.post(
        f"{base}/versions/2/commitments/",
        {"kind": "first_touch", "within": "PT4H", "applies_to": {"tier": "A\u0000B"}},
        format="json",
    )
    assert "NUL" in _error(answer, 400, "parse_error")["detail"]
    key = manager.post(
        f"{base}/versions/2/commitments/",
        {"kind": "first_touch", "within": "PT4H", "applies_to": {"ti\u0000er": "A"}},
        format="json",
    )
    _error(key, 400, "parse_error")
    name = as_user(sla.marketer).post("/api/v1/leads/", _lead(sla, name="A\u0000"), format="json")
    _error(name, 400, "parse_error")


@pytest.mark.parametrize("score", ["1" * 400, str(2**63), str(-(2**63) - 1)])
def test_an_integer_beyond_64_bits_is_a_parse_error(sla, as_user, frozen, score):
    body = json.dumps(_lead(sla))[:-1] + f', "score": {score}}}'
    answer = _raw(as_user(sla.marketer), "/api/v1/leads/", body)
    assert "64 bits" in _error(answer, 400, "parse_error")["detail"]


def test_nan_and_infinity_are_not_json(sla, as_user, frozen):
    body = json.dumps(_lead(sla))[:-1] + ', "score": NaN}'
    _error(_raw(as_user(sla.marketer), "/api/v1/leads/", body), 400, "parse_error")


def test_an_integer_within_64_bits_still_reaches_the_field_check(sla, as_user, frozen):
    answer = as_user(sla.marketer).post("/api/v1/leads/", _lead(sla, score=2**40), format="json")
    assert "score" in _error(answer, 400, "invalid")["fields"]


# Empty and form-encoded bodies -------------------------------------------------------------


def test_an_empty_bulk_post_is_a_400_and_a_form_encoded_one_a_415(sla, as_user, frozen):
    client = as_user(sla.marketer)
    empty = _raw(client, "/api/v1/leads/bulk/", "", "application/x-www-form-urlencoded")
    assert "leads" in _error(empty, 400, "invalid")["fields"]
    form = _raw(
        client, "/api/v1/leads/bulk/", "leads=1&leads=2", "application/x-www-form-urlencoded"
    )
    _error(form, 415, "unsupported_media_type")  # the API takes JSON (uploads: multipart)


def test_an_empty_json_body_is_a_400(sla, as_user, frozen):
    client = as_user(sla.marketer)
    _error(_raw(client, "/api/v1/leads/bulk/", ""), 400, "invalid")
    _error(_raw(client, "/api/v1/leads/", ""), 400, "invalid")
    _error(_raw(client, "/api/v1/leads/", "not json"), 400, "parse_error")


def test_an_unknown_content_type_is_a_415(sla, as_user, frozen):
    answer = _raw(as_user(sla.marketer), "/api/v1/leads/", "<lead/>", "application/xml")
    _error(answer, 415, "unsupported_media_type")


# Times --------------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"])
def test_a_hand_off_out_of_the_supported_years_is_a_400(sla, as_user, frozen, when):
    answer = as_user(sla.marketer).post(
        "/api/v1/leads/", _lead(sla, handed_off_at=when), format="json"
    )
    assert "handed_off_at" in _error(answer, 400, "invalid")["fields"]


def test_a_hand_off_at_the_edge_of_the_datetime_range_is_a_400(sla, as_user, frozen):
    # 0001-01-01 with a positive offset is before datetime.min in UTC.
    answer = as_user(sla.marketer).post(
        "/api/v1/leads/", _lead(sla, handed_off_at="0001-01-01T00:00:00+05:00"), format="json"
    )
    assert "handed_off_at" in _error(answer, 400, "invalid")["fields"]


def test_an_accept_at_year_1_is_a_400_and_the_clock_stays_open(sla, push_lead, as_user, frozen):
    lead = push_lead().json()
    answer = as_user(sla.rep).post(
        f"/api/v1/leads/{lead['id']}/accept/", {"at": "0001-01-01T00:00:00Z"}, format="json"
    )
    assert "at" in _error(answer, 400, "invalid")["fields"]
    detail = as_user(sla.rep).get(f"/api/v1/leads/{lead['id']}/").json()
    assert detail["accepted_at"] is None
    assert "disposition" in {o["kind"] for o in detail["open_obligations"]}


def test_a_touch_before_the_hand_off_is_a_400(sla, push_lead, as_user, frozen):
    lead = push_lead().json()
    answer = as_user(sla.rep).post(
        "/api/v1/activities/",
        {"lead": lead["id"], "kind": "call", "occurred_at": "2026-11-25T08:59:00+01:00"},
        format="json",
    )
    assert (
        "before the lead's hand-off" in _error(answer, 400, "invalid")["fields"]["occurred_at"][0]
    )


# Signed inbound webhooks ---------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", ["9" * 400, "-1", "1_700_000_000", " 17", "１７"])
def test_an_odd_signing_timestamp_is_a_401_not_a_500(sla, frozen, timestamp):
    webhook_source_create(name="CRM", slug="crm", source_system="crm")
    answer = APIClient().generic(
        "POST",
        "/api/v1/inbound/crm/",
        b'{"id": "e", "type": "lead.upsert", "data": {}}',
        content_type="application/json",
        HTTP_X_SLAHUB_TIMESTAMP=timestamp,
        HTTP_X_SLAHUB_SIGNATURE="sha256=00",
    )
    _error(answer, 401, "bad_timestamp")


# The schema says what the API answers -------------------------------------------------------


def test_the_schema_allows_a_blank_breach_resolution(sla, as_user):
    schema = as_user(sla.rep).get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]

    def values(node: dict) -> set:
        if "$ref" in node:
            return values(components[node["$ref"].rsplit("/", 1)[-1]])
        found = set(node.get("enum", []))
        for part in node.get("oneOf", []) + node.get("allOf", []) + node.get("anyOf", []):
            found |= values(part)
        return found

    assert values(components["Breach"]["properties"]["resolution"]) == {"", "upheld", "waived"}


def test_staff_backfill_through_the_api_with_a_reason(sla, push_lead, as_user, frozen):
    from leads.models import Backfill
    from tests.factories import make_user

    staff = as_user(make_user("ops", is_staff=True))
    old = "2026-11-02T09:00:00+01:00"  # Monday, 23 days before now
    refused = push_lead("crm-old", client=as_user(sla.marketer), handed_off_at=old)
    assert "more than 7 days back" in _error(refused, 400, "invalid")["fields"]["handed_off_at"][0]
    not_a_reason = push_lead("crm-old", client=staff, handed_off_at=old, backfill_reason=" ")
    _error(not_a_reason, 400, "invalid")
    pushed = push_lead("crm-old", client=staff, handed_off_at=old, backfill_reason="CRM migration")
    assert pushed.status_code == 201, pushed.json()
    lead = pushed.json()["id"]
    url = f"/api/v1/leads/{lead}/accept/"
    at = {"at": "2026-11-02T11:00:00+01:00", "backfill_reason": "from the CRM"}
    _error(as_user(sla.rep).post(url, at, format="json"), 400, "invalid")  # a rep: no
    accepted = staff.post(url, at, format="json")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["accepted_at"] == "2026-11-02T10:00:00Z"
    assert sorted(Backfill.objects.values_list("field", "reason")) == [
        ("at", "from the CRM"),
        ("handed_off_at", "CRM migration"),
    ]


def test_an_effective_date_out_of_the_supported_years_is_a_400(sla, as_user, frozen):
    manager = as_user(sla.sales_manager)
    base = f"/api/v1/agreements/{sla.agreement.pk}"
    assert manager.post(f"{base}/versions/", {"summary": "v2"}, format="json").status_code == 201
    answer = manager.post(
        f"{base}/versions/2/propose/", {"effective_from": "9999-01-01T00:00:00Z"}, format="json"
    )
    assert "effective_from" in _error(answer, 400, "invalid")["fields"]
