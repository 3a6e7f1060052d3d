"""An agreement version is active only once a manager of each side signed that version."""

import pytest

from agreements import services
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import AgreementVersion
from tests.factories import activate, add_commitment


@pytest.fixture
def proposed(org, now):
    add_commitment(org.version, "first_touch", within="PT1H")
    services.agreement_version_propose(version=org.version, now=now)
    return org.version


def test_one_signature_does_not_activate(org, proposed, now):
    services.agreement_version_sign(version=proposed, user=org.sales_manager, now=now)
    proposed.refresh_from_db()
    assert proposed.status == AgreementVersion.Status.PROPOSED
    with pytest.raises(ValidationError):
        services.agreement_version_activate(version=proposed, now=now)


def test_both_managers_signing_activates_and_supersedes_the_previous(org, proposed, now):
    services.agreement_version_sign(version=proposed, user=org.sales_manager, now=now)
    services.agreement_version_sign(version=proposed, user=org.marketing_manager, now=now)
    v1 = AgreementVersion.objects.get(pk=proposed.pk)
    assert v1.status == "active" and v1.activated_at == now

    v2 = services.agreement_version_draft(agreement=org.agreement)
    assert v2.number == 2
    assert list(v2.commitments.values_list("kind", "within")) == [("first_touch", "PT1H")]
    activate(org, now=now, version=v2)

    v1.refresh_from_db()
    assert (v1.status, v1.ended_at) == ("superseded", now)
    assert AgreementVersion.objects.get(agreement=org.agreement, status="active") == v2


def test_members_and_other_teams_cannot_sign(org, proposed, now):
    with pytest.raises(PermissionDenied):
        services.agreement_version_sign(version=proposed, user=org.rep, now=now)
    with pytest.raises(PermissionDenied):
        services.agreement_version_sign(version=proposed, user=org.marketer, now=now)


def test_a_side_signs_once_and_only_proposed_versions(org, now):
    add_commitment(org.version, "first_touch", within="PT1H")
    with pytest.raises(ValidationError):
        services.agreement_version_sign(version=org.version, user=org.sales_manager, now=now)
    services.agreement_version_propose(version=org.version, now=now)
    services.agreement_version_sign(version=org.version, user=org.sales_manager, now=now)
    with pytest.raises(ValidationError):
        services.agreement_version_sign(version=org.version, user=org.sales_manager, now=now)


def test_an_empty_draft_cannot_be_proposed(org, now):
    with pytest.raises(ValidationError):
        services.agreement_version_propose(version=org.version, now=now)


def test_commitment_validation_names_the_missing_field(org):
    with pytest.raises(ValidationError) as exc:
        services.commitment_create(version=org.version, kind="follow_up", attempts=3)
    assert "every" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.commitment_create(
            version=org.version, kind="first_touch", within="4 hours", applies_to={"tier": 1}
        )
    assert set(exc.value.message_dict) == {"within", "applies_to"}


def test_who_may_change_an_agreement(org, django_user_model):
    from agreements.selectors import manager_sides, require_agreement_manager

    staff = django_user_model.objects.create_user("ops", is_staff=True)
    assert manager_sides(org.sales_manager, org.agreement) == {"sales"}
    assert manager_sides(org.marketing_manager, org.agreement) == {"marketing"}
    for user in (org.sales_manager, org.marketing_manager, staff):
        require_agreement_manager(user, org.agreement)
    for user in (org.rep, org.marketer):
        with pytest.raises(PermissionDenied):
            require_agreement_manager(user, org.agreement)
