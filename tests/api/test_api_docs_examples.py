"""Every `sh` and `python` block of docs/api.md runs as written, in the order of the page,
against the live server: a block that fails (a curl answered 4xx/5xx, a command exiting
non-zero, an assertion) fails the test and names the block.

The page's world: the org of tests.factories.make_org with its sales clocks (teams 1
marketing and 2 sales, agreement 1, rep@example.com in sales), the user `crm-bot`, an
inbound source `hubspot`, with ids from 1 as on a new installation, and the clock at
Wednesday 2026-11-25 10:00 Berlin (the shell's `date +%s` reads the same clock). Each block
runs in the same scratch folder (the CSV files the page uploads are there, and the
generated client stays there for the next block) with `SLAHUB` (the server), `AUTH`
(`Authorization: Token …`), `SLAHUB_TOKEN` and `SECRET` (the inbound source's) set.

A block runs as the staff user `admin` unless an HTML comment just before it names another:
`<!-- example: as=marketer -->` (one of admin, marketer, marketing_manager, rep,
sales_manager, crm-bot)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from agreements.models import Commitment
from integrations.services import api_token_create, webhook_source_create
from tests.factories import LONG_AGO, activate, add_commitment, make_org, make_user
from tests.test_alerts_crash import database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, reset_sequences=True)]

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "api.md"
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
BLOCK = re.compile(
    r"(?:<!--\s*example:\s*(?P<options>[^>]*?)\s*-->\s*\n)?^```(?P<lang>sh|python)\n(?P<code>.*?)^```",
    re.M | re.S,
)
# Makes every curl of a block fail on a 4xx/5xx answer, and the shell stop at it.
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body --show-error "$@"; echo; }
date() { if [ "${1:-}" = "+%s" ]; then echo "$SLAHUB_DOCS_NOW"; else command date "$@"; fi; }
"""

CONTACTS_CSV = (
    "Record ID,First Name,Last Name,Email,Company Name,Lifecycle Stage,Create Date\n"
    "901,Mary,Somerville,mary@example.com,Kew,Lead,2026-11-24\n"
)
LEADS_CSV = "Id,First,Last,MQL date\nl-1,Emmy,Noether,2026-11-24T14:00:00Z\n"


@dataclass
class Block:
    number: int
    lang: str
    code: str
    options: dict[str, str]
    line: int

    def __str__(self) -> str:
        return f"docs/api.md block {self.number} (line {self.line}, {self.lang})"


def page_blocks(text: str) -> list[Block]:
    blocks = []
    for number, match in enumerate(BLOCK.finditer(text), start=1):
        options = dict(
            pair.split("=", 1) for pair in (match.group("options") or "").split() if "=" in pair
        )
        line = text.count("\n", 0, match.start("lang")) + 1
        blocks.append(Block(number, match.group("lang"), match.group("code"), options, line))
    return blocks


def test_the_page_has_runnable_blocks():
    blocks = page_blocks(PAGE.read_text())
    assert len(blocks) >= 10
    assert {b.lang for b in blocks} == {"sh", "python"}


@pytest.fixture
def world(live_server, tmp_path):
    with override_settings(ALLOWED_HOSTS=["localhost", "127.0.0.1"]):
        org = make_org(now=LONG_AGO)
        add_commitment(org.version, Commitment.Kind.FIRST_TOUCH, within="PT4H", clock="business")
        add_commitment(
            org.version, Commitment.Kind.FOLLOW_UP, attempts=3, every="P1D", clock="business"
        )
        add_commitment(org.version, Commitment.Kind.DISPOSITION, within="P1D", clock="business")
        activate(org, now=LONG_AGO)
        users = {
            "admin": make_user("admin", is_staff=True),
            "crm-bot": make_user("crm-bot"),
            **{
                name: getattr(org, name)
                for name in ("marketer", "marketing_manager", "rep", "sales_manager")
            },
        }
        keys = {name: api_token_create(user=user, name="docs")[1] for name, user in users.items()}
        _, secret = webhook_source_create(name="HubSpot", slug="hubspot")
        (tmp_path / "contacts.csv").write_text(CONTACTS_CSV)
        (tmp_path / "leads.csv").write_text(LEADS_CSV)
        (tmp_path / "manage.py").symlink_to(ROOT / "manage.py")
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url(),
            "SLAHUB": live_server.url,
            "SECRET": secret,
        }
        with time_machine.travel(NOW, tick=True):
            yield {"keys": keys, "env": env, "folder": tmp_path}


def _run(block: Block, world) -> subprocess.CompletedProcess:
    key = world["keys"][block.options.get("as", "admin")]
    env = {**world["env"], "SLAHUB_TOKEN": key, "AUTH": f"Authorization: Token {key}"}
    env["SLAHUB_DOCS_NOW"] = str(int(time.time()))  # the server's (moved) clock
    if block.lang == "sh":
        command = ["bash", "-c", PRELUDE + block.code]
    else:
        script = world["folder"] / f"example_{block.number}.py"
        script.write_text(block.code)
        command = [sys.executable, str(script)]
    return subprocess.run(
        command, cwd=world["folder"], env=env, capture_output=True, text=True, timeout=120
    )


def test_every_example_on_the_page_runs_as_written(world):
    blocks = page_blocks(PAGE.read_text())
    for block in blocks:
        done = _run(block, world)
        assert done.returncode == 0, (
            f"{block} failed ({done.returncode}):\n{block.code}\n--- out\n{done.stdout[-3000:]}"
            f"\n--- err\n{done.stderr[-3000:]}"
        )
