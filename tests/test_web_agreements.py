"""The agreement page: terms in plain sentences, signatures and history, and the browser
flow in which both managers sign a new version."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements.models import AgreementVersion
from tests.factories import activate, add_commitment

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def active(org):
    add_commitment(org.version, "first_touch", within="PT15M", applies_to={"tier": ["A"]})
    add_commitment(org.version, "lead_volume", target=40, stage="sql", period="month")
    activate(org, now=datetime(2026, 11, 2, 9, 0, tzinfo=BERLIN))
    return org


def test_the_terms_read_as_sentences_with_who_signed(client, active, frozen):
    client.force_login(active.rep)
    response = client.get(reverse("agreement-detail", args=[active.agreement.pk]))
    html = response.content.decode()
    assert (
        "Sales will make a first touch on every Tier A lead within 15 business minutes "
        "of hand-off." in html
    )
    assert "Marketing will deliver at least 40 SQLs each month." in html
    # Shown in the team's time zone (UTC): 09:00 in Berlin is 08:00.
    assert "Signed for sales by sales_manager on 2 Nov 2026 08:00 UTC." in html
    assert "Draft a new version" not in html  # a rep does not amend the agreement


def test_the_agreement_list_leads_straight_to_the_only_agreement(client, active):
    client.force_login(active.marketer)
    response = client.get(reverse("agreement-list"))
    assert response.url == reverse("agreement-detail", args=[active.agreement.pk])


def test_both_managers_sign_a_new_version(client, active, frozen):
    url = reverse("agreement-detail", args=[active.agreement.pk])
    pk = active.agreement.pk
    client.force_login(active.sales_manager)
    client.post(reverse("version-draft", args=[pk]), {"summary": "Add a follow-up cadence"})
    response = client.post(
        reverse("commitment-add", args=[pk, 2]),
        {
            "kind": "follow_up",
            "order": 0,
            "clock": "business",
            "attempts": 3,
            "every": "P2D",
            "min_sample": 10,
            "warn_at_pct": 80,
        },
        follow=True,
    )
    assert (
        "Added: Sales will try every lead 3 times in all, each attempt within 2 working days"
        in response.content.decode()
    )
    client.post(reverse("version-propose", args=[pk, 2]))
    response = client.post(reverse("version-sign", args=[pk, 2]), follow=True)
    assert "Signed for Sales. Waiting for the other side&#x27;s manager." in (
        response.content.decode()
    )
    twice = client.post(reverse("version-sign", args=[pk, 2]))
    assert twice.status_code == 400
    assert "The sales side has already signed this version." in twice.content.decode()

    client.force_login(active.marketing_manager)
    response = client.post(reverse("version-sign", args=[pk, 2]), follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Signed for Marketing. Version 2 is now in force." in response.content.decode()
    v2 = AgreementVersion.objects.get(agreement=active.agreement, number=2)
    assert (v2.status, v2.activated_at) == ("active", NOW)
    assert v2.commitments.count() == 3  # the two copied and the new one
    assert AgreementVersion.objects.get(agreement=active.agreement, number=1).status == (
        "superseded"
    )


def test_a_bad_commitment_is_refused_with_field_messages(client, active, frozen):
    pk = active.agreement.pk
    client.force_login(active.marketing_manager)
    client.post(reverse("version-draft", args=[pk]), {"summary": "Bigger quota"})
    response = client.post(
        reverse("commitment-add", args=[pk, 2]),
        {"kind": "lead_volume", "order": 0, "clock": "business", "min_sample": 10},
    )
    assert response.status_code == 400
    assert "Required for a lead volume commitment." in response.content.decode()
    assert AgreementVersion.objects.get(number=2).commitments.count() == 2


def test_a_manager_takes_a_commitment_out_of_a_draft_but_not_out_of_signed_terms(
    client, active, frozen
):
    pk = active.agreement.pk
    client.force_login(active.sales_manager)
    client.post(reverse("version-draft", args=[pk]), {"summary": "No volume quota"})
    draft = AgreementVersion.objects.get(number=2)
    volume = draft.commitments.get(kind="lead_volume")
    page = client.get(reverse("agreement-detail", args=[pk])).content.decode()
    remove_url = reverse("commitment-remove", args=[pk, 2, volume.pk])
    assert f'action="{remove_url}"' in page
    response = client.post(remove_url, follow=True)
    assert (
        "Removed from version 2: Marketing will deliver at least 40 SQLs each month."
        in response.content.decode()
    )
    assert list(draft.commitments.values_list("kind", flat=True)) == ["first_touch"]
    # Version 1 is in force: its terms stay as both sides signed them.
    signed = AgreementVersion.objects.get(number=1).commitments.get(kind="lead_volume")
    refused = client.post(reverse("commitment-remove", args=[pk, 1, signed.pk]))
    assert refused.status_code == 400
    assert "Only a draft version&#x27;s commitments can change." in refused.content.decode()
    assert AgreementVersion.objects.get(number=1).commitments.count() == 2
    client.force_login(active.rep)
    first_touch = draft.commitments.get()
    forbidden = client.post(reverse("commitment-remove", args=[pk, 2, first_touch.pk]))
    assert forbidden.status_code == 403
    assert draft.commitments.count() == 1


def test_a_rep_cannot_draft_or_sign(client, active, frozen):
    client.force_login(active.rep)
    response = client.post(
        reverse("version-draft", args=[active.agreement.pk]), {"summary": "Mine"}
    )
    assert response.status_code == 403
    assert AgreementVersion.objects.count() == 1


def test_the_agreement_page_costs_a_fixed_number_of_queries(
    client, active, frozen, django_assert_max_num_queries
):
    from agreements.services import agreement_version_draft

    for number in range(2, 6):  # four more versions, each activated in turn
        version = agreement_version_draft(agreement=active.agreement, summary=f"v{number}")
        activate(active, now=NOW, version=version)
    client.force_login(active.sales_manager)
    client.get(reverse("agreement-detail", args=[active.agreement.pk]))
    with django_assert_max_num_queries(10):
        response = client.get(reverse("agreement-detail", args=[active.agreement.pk]))
    assert [v.number for v in response.context["versions"]] == [5, 4, 3, 2, 1]
