"""Bodies by what the endpoint takes (JSON everywhere; multipart only for the CSV upload),
id filters that are whole numbers, and a schema that says so — what a generated client
relies on (tests/api/test_api_generated_client.py runs one)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _bodies(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                yield path, method, set(operation["requestBody"]["content"])


def test_every_body_is_json_but_the_csv_upload_which_is_multipart(schema):
    bodies = {(path, method): types for path, method, types in _bodies(schema)}
    assert bodies.pop(("/api/v1/imports/", "post")) == {"multipart/form-data"}
    assert len(bodies) > 20
    assert {frozenset(types) for types in bodies.values()} == {frozenset({"application/json"})}


def test_bulk_items_are_lead_upserts_and_a_mapping_is_columns(schema):
    components = schema["components"]["schemas"]
    leads = components["BulkLeadsRequest"]["properties"]["leads"]
    assert leads["items"] == {"$ref": "#/components/schemas/LeadUpsertRequest"}
    assert components["BulkResult"]["properties"]["results"]["items"] == {
        "$ref": "#/components/schemas/BulkItem"
    }
    mapping = components["ImportUploadRequest"]["properties"]["mapping"]
    assert mapping["type"] == "object"
    assert mapping["additionalProperties"]["oneOf"] == [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
    ]


def test_an_unresolved_breachs_blank_resolution_is_in_the_schema(schema):
    resolution = schema["components"]["schemas"]["Breach"]["properties"]["resolution"]
    enums = [
        schema["components"]["schemas"][r["$ref"].rsplit("/", 1)[1]] for r in resolution["oneOf"]
    ]
    assert sorted(v for e in enums for v in e["enum"]) == ["", "upheld", "waived"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/leads/", "owner"),
        ("/api/v1/leads/", "team"),
        ("/api/v1/leads/", "marketing_team"),
        ("/api/v1/activities/", "lead"),
        ("/api/v1/activities/", "user"),
        ("/api/v1/obligations/", "owner"),
        ("/api/v1/breaches/", "user"),
    ],
)
def test_id_filters_are_integers(schema, path, name):
    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert parameters[name]["schema"]["type"] == "integer"


def test_a_form_encoded_or_multipart_lead_is_a_415(sla, as_user, frozen):
    client = as_user(sla.marketer)
    form = client.post("/api/v1/leads/", {"external_id": "f-1", "name": "Ada"}, format="multipart")
    assert (form.status_code, form.json()["code"]) == (415, "unsupported_media_type")
    encoded = client.generic(
        "POST", "/api/v1/leads/", "external_id=f-1", "application/x-www-form-urlencoded"
    )
    assert (encoded.status_code, encoded.json()["code"]) == (415, "unsupported_media_type")


def test_the_csv_upload_takes_a_file_or_json_content(sla, as_user, frozen):
    client = as_user(sla.marketer)
    csv = "Id,Name\nu-1,Ada\n"
    upload = client.post(
        "/api/v1/imports/",
        {
            "file": SimpleUploadedFile("a.csv", csv.encode(), "text/csv"),
            "preset": "custom",
            "mapping": '{"external_id": "Id", "name": "Name"}',
            "sales_team": sla.sales.pk,
        },
        format="multipart",
    )
    assert upload.status_code == 202, upload.content
    assert upload.json()["mapping"] == {"external_id": "Id", "name": "Name"}
    text = client.post(
        "/api/v1/imports/",
        {
            "content": csv,
            "preset": "custom",
            "mapping": {"external_id": "Id", "name": "Name"},
            "sales_team": sla.sales.pk,
        },
        format="json",
    )
    assert text.status_code == 202, text.content


@pytest.mark.parametrize("value", ["2.5", "-1", "0", "two", str(2**63)])
def test_an_id_filter_that_is_not_a_whole_positive_number_is_a_400(sla, as_user, value):
    answer = as_user(sla.sales_manager).get(f"/api/v1/leads/?owner={value}")
    assert answer.status_code == 400, answer.content
    assert list(answer.json()["fields"]) == ["owner"]


def test_an_id_filter_matches_that_id(sla, push_lead, as_user, frozen):
    assert push_lead("crm-1").status_code == 201
    client = as_user(sla.sales_manager)
    assert client.get(f"/api/v1/leads/?owner={sla.rep.pk}").json()["count"] == 1
    assert client.get(f"/api/v1/leads/?owner={sla.rep2.pk}").json()["count"] == 0


def test_an_address_with_a_line_break_is_a_json_404(sla, as_user):
    answer = as_user(sla.sales_manager).get("/api/v1/agreements/a%0Ab%0Dc/versions/-3.5e-283/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "not_found"
