"""Amendments argued with words: the diff against the terms in force in plain sentences,
the other side told a signature awaits, comments on each changed term, a proposal taken
back to draft voids its signatures, and every step in the agreement's history."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from agreements.models import AgreementVersion, TermComment
from agreements.services import agreement_version_draft, commitment_create, commitment_update
from alerts.models import Alert
from audit.models import AuditEvent
from tests.factories import activate, add_commitment

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def amended(org):
    """v1 in force: Tier A first touch in 15 business minutes, 40 SQLs a month. v2 drafted:
    the first touch in 30 minutes, a follow-up cadence added, the quota removed."""
    with time_machine.travel(NOW, tick=False):
        add_commitment(org.version, "first_touch", within="PT15M", applies_to={"tier": ["A"]})
        add_commitment(org.version, "lead_volume", target=40, stage="sql", period="month")
        activate(org, now=datetime(2026, 11, 2, 9, 0, tzinfo=BERLIN))
        draft = agreement_version_draft(
            agreement=org.agreement, user=org.sales_manager, summary="Realistic first touch"
        )
        commitment_update(commitment=draft.commitments.get(kind="first_touch"), within="PT30M")
        draft.commitments.get(kind="lead_volume").delete()
        commitment_create(
            version=draft, kind="follow_up", attempts=3, every="P1D", clock="business"
        )
        yield org, draft


def _page(client, org) -> str:
    return client.get(reverse("agreement-detail", args=[org.agreement.pk])).content.decode()


def test_the_draft_reads_as_what_changes_against_the_terms_in_force(client, amended):
    org, _ = amended
    client.force_login(org.marketer)
    page = _page(client, org)
    assert "What changes against version 1, in force now" in page
    assert (
        "<del>Sales will make a first touch on every Tier A lead within 15 business minutes of "
        "hand-off.</del> → <ins>Sales will make a first touch on every Tier A lead within 30 "
        "business minutes of hand-off.</ins>" in page
    )
    assert (
        "<strong>Added:</strong>\n      Sales will try every lead 3 times in all, each attempt "
        "within 1 working day of the previous one, until the lead is reached." in page
    )
    assert (
        "<strong>Removed:</strong>\n      Marketing will deliver at least 40 SQLs each month."
        in page
    )


def test_the_other_side_is_told_a_signature_awaits_it(client, amended):
    org, draft = amended
    client.force_login(org.sales_manager)
    client.post(reverse("version-propose", args=[org.agreement.pk, draft.number]))
    alerts = Alert.objects.filter(event="proposal", key__startswith=f"proposal:{draft.pk}:")
    assert [a.recipient for a in alerts] == [org.marketing_manager]  # not the proposer
    alert = alerts.get()
    assert alert.subject == (
        f"Your signature: version 2 of {org.agreement.name}, proposed by sales_manager"
    )
    assert (
        "- Changed: Sales will make a first touch on every Tier A lead within 15 business "
        "minutes of hand-off. → Sales will make a first touch on every Tier A lead within 30 "
        "business minutes of hand-off." in alert.body_text
    )
    assert "- Removed: Marketing will deliver at least 40 SQLs each month." in alert.body_text
    client.force_login(org.marketing_manager)
    home = client.get(reverse("marketing-home")).content.decode()
    assert f"version 2 of {org.agreement.name}</a> was proposed and waits for your side" in home
    client.force_login(org.sales_manager)
    assert "waits for your side" in client.get(reverse("team-home")).content.decode()
    client.post(reverse("version-sign", args=[org.agreement.pk, draft.number]))
    assert "waits for your side" not in client.get(reverse("team-home")).content.decode()


def test_both_sides_comment_on_a_changed_term(client, amended):
    org, draft = amended
    first_touch = draft.commitments.get(kind="first_touch")
    url = reverse("term-comment", args=[org.agreement.pk, draft.number])
    client.force_login(org.marketer)
    response = client.post(
        url, {"clause": first_touch.clause, "body": "30 minutes loses the hot Tier A leads."}
    )
    assert response.status_code == 302
    client.force_login(org.rep)
    client.post(url, {"clause": first_touch.clause, "body": "We cannot staff 15 at lunch."})
    page = _page(client, org)
    assert "30 minutes loses the hot Tier A leads." in page
    assert "marketer (marketing)" in page
    assert "rep (sales)" in page
    assert list(TermComment.objects.values_list("side", flat=True)) == ["marketing", "sales"]
    too_long = client.post(url, {"clause": first_touch.clause, "body": "x" * 2001})
    assert too_long.status_code == 400
    assert TermComment.objects.count() == 2
    stranger = User.objects.create_user("stranger")
    client.force_login(stranger)
    assert client.post(url, {"clause": first_touch.clause, "body": "Hi"}).status_code == 404


def test_a_proposal_taken_back_to_draft_loses_its_signatures(client, amended):
    org, draft = amended
    pk = org.agreement.pk
    client.force_login(org.sales_manager)
    client.post(reverse("version-propose", args=[pk, 2]))
    client.force_login(org.marketing_manager)
    client.post(reverse("version-sign", args=[pk, 2]))
    assert draft.signatures.count() == 1
    client.force_login(org.sales_manager)
    response = client.post(
        reverse("version-reopen", args=[pk, 2]), {"reason": "Tier B too"}, follow=True
    )
    assert "Version 2 is a draft again; its signatures are void until both sign again." in (
        response.content.decode()
    )
    draft.refresh_from_db()
    assert (draft.status, draft.signatures.count()) == ("draft", 0)
    event = AuditEvent.objects.get(action="version.reopen")
    assert event.changes["reason"] == "Tier B too"
    assert [s["side"] for s in event.changes["voided_signatures"]] == ["marketing"]
    # Signed again by both after the change, it comes into force.
    client.post(reverse("version-propose", args=[pk, 2]))
    client.post(reverse("version-sign", args=[pk, 2]))
    client.force_login(org.marketing_manager)
    client.post(reverse("version-sign", args=[pk, 2]))
    assert AgreementVersion.objects.get(pk=draft.pk).status == "active"
    history = _page(client, org)
    for step in (
        "sales_manager: version drafted",
        "commitment changed",
        "commitment added",
        "sales_manager: version proposed",
        "marketing_manager: version signed",
        "sales_manager: version returned to draft (signatures voided)",
        "the system: version in force",
    ):
        assert step in history, step
    client.force_login(org.rep)
    assert client.post(reverse("version-reopen", args=[pk, 2])).status_code == 403
