"""List endpoints answer in a bounded number of queries, however many rows they list."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.services

LISTS = [
    "/api/v1/teams/",
    "/api/v1/calendars/",
    "/api/v1/agreements/",
    "/api/v1/leads/",
    "/api/v1/activities/",
    "/api/v1/obligations/",
    "/api/v1/breaches/",
    "/api/v1/goals/",
    "/api/v1/webhooks/",
    "/api/v1/imports/",
]


@pytest.mark.parametrize("url", LISTS)
def test_lists_use_few_queries(url, sla, frozen, push_lead, as_user, django_assert_max_num_queries):
    client = as_user(sla.sales_manager)
    for n in range(4):
        push_lead(f"q{n}", handed_off_at="2026-11-24T10:00:00+01:00")
        client.post(
            "/api/v1/activities/",
            {
                "lead_source_system": "crm",
                "lead_external_id": f"q{n}",
                "kind": "call",
                "occurred_at": "2026-11-25T09:30:00+01:00",
            },
            format="json",
        )
    with django_assert_max_num_queries(10):
        answer = client.get(url)
    assert answer.status_code == 200
    if url in ("/api/v1/leads/", "/api/v1/activities/", "/api/v1/breaches/"):
        assert answer.json()["count"] == 4
