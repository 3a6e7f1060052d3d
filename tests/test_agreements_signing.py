"""The signing rules, through every path: one side alone never puts a version in force
(two managers of the same side, a date that has come, the API's activate), and the terms a
side signed never change under its signature — a change needs the proposal back in draft,
which voids every signature, and then both sides sign the changed terms."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from agreements import services
from agreements.errors import ValidationError
from agreements.models import AgreementVersion, Commitment, Membership
from tests.factories import activate, add_commitment, make_user

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def signed_once(org):
    """v1 in force (a first touch within 1 hour); v2 changes it to 2 hours, is proposed by
    sales' manager and signed by marketing's: one side of two."""
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    activate(org, now=NOW - timedelta(days=30))
    v2 = services.agreement_version_draft(agreement=org.agreement, user=org.sales_manager)
    services.commitment_update(commitment=v2.commitments.get(), within="PT2H")
    services.agreement_version_propose(version=v2, now=NOW, user=org.sales_manager)
    services.agreement_version_sign(version=v2, user=org.marketing_manager, now=NOW)
    return org, v2


def _state(version: AgreementVersion) -> tuple:
    version.refresh_from_db()
    return (
        version.status,
        sorted(version.signatures.values_list("side", flat=True)),
        list(version.commitments.values_list("within", flat=True)),
    )


# One side alone never activates ----------------------------------------------------------


def test_a_second_manager_of_the_same_side_does_not_complete_the_signatures(signed_once):
    org, v2 = signed_once
    deputy = make_user("deputy_marketing_manager")
    Membership.objects.create(team=org.marketing, user=deputy, role=Membership.Role.MANAGER)
    with pytest.raises(ValidationError, match="marketing side has already signed"):
        services.agreement_version_sign(version=v2, user=deputy, now=NOW)
    with pytest.raises(ValidationError):
        services.agreement_version_activate(version=v2, now=NOW)
    assert _state(v2) == ("proposed", ["marketing"], ["PT2H"])
    assert org.agreement.versions.get(status="active").number == 1


def test_a_date_that_has_come_does_not_activate_a_version_one_side_signed(org):
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    services.agreement_version_propose(
        version=org.version, now=NOW, user=org.sales_manager, effective_from=NOW + timedelta(days=1)
    )
    services.agreement_version_sign(version=org.version, user=org.sales_manager, now=NOW)
    assert services.agreement_versions_activate_due(now=NOW + timedelta(days=2)) == 0
    assert _state(org.version) == ("proposed", ["sales"], ["PT1H"])


def test_the_api_refuses_to_activate_a_version_one_side_signed(signed_once):
    org, v2 = signed_once
    cache.clear()
    api = APIClient()
    api.force_authenticate(org.marketing_manager)
    response = api.post(f"/api/v1/agreements/{org.agreement.pk}/versions/2/activate/")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "A version becomes active only once both sides have signed it."
    )
    assert _state(v2) == ("proposed", ["marketing"], ["PT2H"])


# A change after a signature voids the signatures -----------------------------------------


def test_signed_terms_cannot_be_changed_in_place_by_any_path(client, signed_once):
    org, v2 = signed_once
    term = v2.commitments.get()
    for change in (
        lambda: services.commitment_update(commitment=term, within="PT3H"),
        lambda: services.commitment_create(version=v2, kind="disposition", within="P1D"),
        lambda: services.commitment_move(commitment=term, by=1),
        lambda: services.commitment_delete(commitment=term),
    ):
        with pytest.raises(ValidationError, match="Only a draft version's commitments"):
            change()
    client.force_login(org.sales_manager)
    page = client.post(
        reverse("commitment-edit", args=[org.agreement.pk, 2, term.pk]),
        {"within_0": "3", "within_1": "hours", "clock": "calendar"},
    )
    assert page.status_code == 400
    cache.clear()
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    patched = api.patch(
        f"/api/v1/agreements/{org.agreement.pk}/versions/2/commitments/{term.pk}/",
        {"within": "PT3H"},
        format="json",
    )
    assert patched.status_code == 400
    admin = make_user("admin_user", is_staff=True, is_superuser=True)
    client.force_login(admin)
    form = client.post(
        f"/admin/agreements/commitment/{term.pk}/change/",
        {"version": v2.pk, "kind": "first_touch", "within": "PT3H", "clock": "calendar"},
    )
    assert form.status_code == 403
    assert (
        client.post(f"/admin/agreements/commitment/{term.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert _state(v2) == ("proposed", ["marketing"], ["PT2H"])


def test_the_admin_adds_commitments_to_drafts_only(client, signed_once):
    org, v2 = signed_once
    admin = make_user("admin_user", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get("/admin/agreements/commitment/add/").content.decode()
    assert f'<option value="{v2.pk}">' not in page  # proposed: not offered
    assert f'<option value="{org.version.pk}">' not in page  # in force: not offered


def test_a_change_needs_the_draft_back_and_then_both_signatures_again(signed_once):
    org, v2 = signed_once
    services.agreement_version_reopen(
        version=v2, user=org.sales_manager, now=NOW, reason="Tier B too"
    )
    assert _state(v2) == ("draft", [], ["PT2H"])  # marketing's signature is void
    services.commitment_update(commitment=v2.commitments.get(), within="PT90M")
    services.agreement_version_propose(version=v2, now=NOW, user=org.sales_manager)
    services.agreement_version_sign(version=v2, user=org.sales_manager, now=NOW)
    # Marketing signed the two-hour terms, not these: sales' signature alone waits.
    assert _state(v2) == ("proposed", ["sales"], ["PT90M"])
    services.agreement_version_sign(version=v2, user=org.marketing_manager, now=NOW)
    assert _state(v2) == ("active", ["marketing", "sales"], ["PT90M"])
    assert Commitment.objects.get(version=org.version).within == "PT1H"  # v1 as signed


def test_the_history_of_the_terms_is_on_the_page_not_in_its_title(client, signed_once):
    org, _ = signed_once
    client.force_login(org.marketer)
    page = client.get(reverse("agreement-detail", args=[org.agreement.pk])).content.decode()
    assert f"<title>{org.agreement.name} · SLA Hub</title>" in page
    main = page[page.index("<main") :]
    assert '<h2 id="log-h">History of the terms</h2>' in main
    assert "marketing_manager: version signed" in main
