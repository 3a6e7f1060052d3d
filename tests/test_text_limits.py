"""Every free-text field of the pages and models keeps to 2,000 characters: 2,001 is a form
error saying so (a 400 page, never a 500), 2,000 goes through; long words wrap on pages."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from agreements.models import Goal
from leads.models import Activity, Breach, BreachComment
from tests.factories import activate, add_commitment, make_first_touch_breach, make_lead

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
OK, TOO_LONG = "x" * 2000, "x" * 2001
SAID = "Keep it to 2,000 characters or fewer (this one has 2001)."


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def breach(org, frozen):
    return make_first_touch_breach(org)


BREACH_FORMS = [
    ("breach-acknowledge", "rep", lambda t: {"note": t}),
    ("breach-dispute", "rep", lambda t: {"reason": t}),
    ("breach-resolve", "marketing_manager", lambda t: {"resolution": "upheld", "note": t}),
    ("breach-comment", "marketer", lambda t: {"body": t}),
]


@pytest.mark.parametrize("url, who, body", BREACH_FORMS, ids=[f[0] for f in BREACH_FORMS])
def test_breach_page_forms(client, org, breach, url, who, body):
    client.force_login(getattr(org, who))
    refused = client.post(reverse(url, args=[breach.pk]), body(TOO_LONG))
    assert refused.status_code == 400
    assert SAID in refused.content.decode()
    accepted = client.post(reverse(url, args=[breach.pk]), body(OK))
    assert accepted.status_code == 302
    breach.refresh_from_db()
    texts = [breach.acknowledge_note, breach.dispute_reason, breach.resolution_note]
    assert OK in texts or BreachComment.objects.filter(body=OK).exists()


def test_a_touch_note(client, org, frozen):
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
    lead = make_lead(org, now=NOW, handed_off_at=NOW)
    client.force_login(org.rep)
    url = reverse("lead-log-activity", args=[lead.pk])
    refused = client.post(url, {"kind": "call", "outcome": "attempted", "note": TOO_LONG})
    assert refused.status_code == 400 and SAID in refused.content.decode()
    accepted = client.post(url, {"kind": "call", "outcome": "attempted", "note": OK})
    assert accepted.status_code == 302
    assert Activity.objects.get(lead=lead).note == OK


def test_a_version_summary(client, org, frozen):
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
    client.force_login(org.sales_manager)
    url = reverse("version-draft", args=[org.agreement.pk])
    refused = client.post(url, {"summary": TOO_LONG})
    assert refused.status_code == 400 and SAID in refused.content.decode()
    assert client.post(url, {"summary": OK}).status_code == 302
    assert org.agreement.versions.get(number=2).summary == OK


def test_the_models_refuse_what_no_form_saw(org, breach):
    for obj, field in [
        (Goal(agreement=org.agreement, name="G", metric="m", target=1, period="month"), "notes"),
        (Activity(lead=breach.lead, kind="call", occurred_at=NOW), "note"),
        (BreachComment(breach=breach, author=org.rep, body="x"), "body"),
    ]:
        setattr(obj, field, TOO_LONG)
        with pytest.raises(ValidationError) as refused:
            obj.full_clean()
        assert refused.value.message_dict[field] == [SAID]
        setattr(obj, field, OK)
        obj.full_clean()
    breach_fields = ["acknowledge_note", "dispute_reason", "resolution_note"]
    for field in breach_fields:
        setattr(breach, field, TOO_LONG)
    with pytest.raises(ValidationError) as refused:
        Breach.full_clean(breach)
    assert set(refused.value.message_dict) == set(breach_fields)


def test_long_words_wrap_on_pages():
    css = (Path(__file__).parent.parent / "static/css/app.css").read_text()
    assert "main { overflow-wrap: break-word; }" in css
    assert "dd, .comment, blockquote, .long-text { overflow-wrap: anywhere; }" in css
