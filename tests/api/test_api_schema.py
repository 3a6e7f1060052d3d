"""Property-based run of the whole API against its own OpenAPI schema (schemathesis):
no 500 for any generated input, and every answer matches the documented status codes,
content types and bodies. 100 generated examples per operation (`SLAHUB_FUZZ_EXAMPLES`),
derandomized so every run tries the same cases; `make fuzz` runs this file alone.

Time-bounded: past `SLAHUB_FUZZ_SECONDS` (default 900 s; a run takes about 4 minutes on
2 cores) the remaining cases are skipped, and the summary line says how many ran and were
skipped, so a slow machine never stalls CI."""

from __future__ import annotations

import contextlib
import os
import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings

from slahub.wsgi import application

pytestmark = pytest.mark.services

EXAMPLES = int(os.environ.get("SLAHUB_FUZZ_EXAMPLES", "100"))
BUDGET_SECONDS = float(os.environ.get("SLAHUB_FUZZ_SECONDS", "900"))
RUN = {"started": None, "cases": 0, "skipped": 0}

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def api_schema(sla, push_lead, require_postgres, settings, staff_headers):
    """The schema, served by the real WSGI app inside the test's transaction, with one real
    lead (and its clocks) for generated ids to hit. Like Django's test client, the app must
    not close the test's connection at each request (the test client reconnects those
    handlers after each of its requests, so the lead is pushed first)."""
    assert push_lead().status_code == 201
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        # The schema is behind login (docs/security.md): fetched with the staff token.
        yield schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json", application, headers=staff_headers
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def staff_headers(db):
    from integrations.services import api_token_create
    from tests.factories import make_user

    _, key = api_token_create(user=make_user("fuzzer", is_staff=True), name="schemathesis")
    return {"Authorization": f"Token {key}"}


@pytest.fixture(scope="module", autouse=True)
def _fuzz_summary(request):
    RUN.update(started=time.monotonic(), cases=0, skipped=0)
    yield
    line = (
        f"\nschemathesis: {RUN['cases']} cases in {time.monotonic() - RUN['started']:.0f} s, "
        f"{RUN['skipped']} skipped past the {BUDGET_SECONDS:.0f} s budget"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(line)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_schema(case, staff_headers):
    if time.monotonic() - RUN["started"] > BUDGET_SECONDS:
        RUN["skipped"] += 1
        return
    RUN["cases"] += 1
    # Each example in its own savepoint: a failing one cannot spoil the next.
    with transaction.atomic():
        case.call_and_validate(headers=staff_headers, checks=CHECKS)
