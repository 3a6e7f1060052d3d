"""docs/api.md's "Provisioning a company" script, run as written (bash, curl, jq) against a
live server, twice: the second run creates nothing and prints the same answers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agreements.models import BusinessCalendar, Invitation, RejectionReason, Team, WorkingHours

pytestmark = pytest.mark.services

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _script() -> str:
    text = DOCS.read_text()
    section = text[text.index("## Provisioning a company") :]
    match = re.search(r"```sh\n(#!/usr/bin/env bash\n.*?)```", section, re.S)
    assert match, "the provisioning script is missing from docs/api.md"
    return match.group(1)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_the_provisioning_script_runs_as_written_twice(live_server, transactional_db, tmp_path):
    from django.core import mail

    from integrations.services import api_token_create
    from tests.factories import make_user

    _, key = api_token_create(user=make_user("ops", is_staff=True), name="provisioning")
    script = tmp_path / "provision.sh"
    script.write_text(_script())
    env = {**os.environ, "SLAHUB": live_server.url, "AUTH": f"Authorization: Token {key}"}

    def run() -> str:
        done = subprocess.run(
            ["bash", str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    first = run()
    assert re.fullmatch(r"calendar \d+, marketing \d+, sales \d+", first.splitlines()[-1])
    again = run()
    assert again == first
    assert BusinessCalendar.objects.count() == 1
    assert WorkingHours.objects.count() == 5
    assert sorted(Team.objects.values_list("name", flat=True)) == [
        "Nordic Marketing",
        "Nordic Sales",
    ]
    assert sorted(Invitation.objects.values_list("email", "role")) == [
        ("ingrid@nordic.example", "manager"),
        ("kari@nordic.example", "manager"),
        ("ola@nordic.example", "member"),
    ]
    assert len(mail.outbox) == 3  # one email each, none from the second run
    assert sorted(RejectionReason.objects.values_list("code", flat=True)) == [
        "bad-fit",
        "no-budget",
    ]
