"""The audit log: every audited service writes one event in its own transaction, with who,
what and which teams; /settings/audit/ shows a manager the events of the teams they manage
(staff: all); the admin only reads."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from agreements import services as agreement_services
from agreements.models import Agreement, Membership, Side, Team
from audit.models import Action, AuditEvent
from integrations import services as integration_services
from leads import services as lead_services
from leads.models import Activity
from tests.factories import activate, add_commitment, make_first_touch_breach, make_lead, make_user

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def team_ids(event: AuditEvent) -> set[int]:
    return set(event.teams.values_list("id", flat=True))


@pytest.fixture
def breach(org):
    return make_first_touch_breach(org)


def test_the_life_of_an_agreement_version_is_logged(org):
    both = {org.marketing.pk, org.sales.pk}
    (draft,) = events(Action.VERSION_DRAFT)  # make_org drafted version 1
    assert draft.object_id == str(org.version.pk) and team_ids(draft) == both
    commitment = agreement_services.commitment_create(
        version=org.version, kind="first_touch", within="PT4H"
    )
    agreement_services.commitment_update(commitment=commitment, within="PT2H")
    extra = agreement_services.commitment_create(
        version=org.version, kind="disposition", within="P1D"
    )
    extra_id = extra.pk
    agreement_services.commitment_delete(commitment=extra)
    activate(org, now=NOW)
    agreement_services.agreement_version_retire(version=org.version, now=NOW)

    (created, _) = events(Action.COMMITMENT_CREATE)
    # The terms given, where the commitment was placed among its kind's, and its version
    # (so the agreement's history finds it after it is removed).
    assert created.changes == {
        "kind": "first_touch",
        "within": "PT4H",
        "order": 0,
        "version": org.version.pk,
    }
    assert team_ids(created) == both
    (updated,) = events(Action.COMMITMENT_UPDATE)
    assert updated.changes == {"within": "PT2H", "version": org.version.pk}
    (deleted,) = events(Action.COMMITMENT_DELETE)
    assert deleted.object_id == str(extra_id)
    (proposed,) = events(Action.VERSION_PROPOSE)
    signed = events(Action.VERSION_SIGN)
    assert [(e.actor, e.changes["side"]) for e in signed] == [
        (org.sales_manager, Side.SALES),
        (org.marketing_manager, Side.MARKETING),
    ]
    assert signed[0].actor_name == "sales_manager"
    (active,) = events(Action.VERSION_ACTIVATE)
    assert active.actor is None and active.actor_name == ""  # called without a request
    (retired,) = events(Action.VERSION_RETIRE)
    assert team_ids(retired) == both


def test_membership_changes_are_logged_for_the_team(org):
    newcomer = make_user("newcomer")
    agreement_services.membership_set(team=org.sales, user=newcomer, role="member")
    agreement_services.membership_set(team=org.sales, user=newcomer, role="manager")
    agreement_services.membership_remove(team=org.sales, user=newcomer)
    added, promoted = events(Action.MEMBERSHIP_SET)
    assert added.changes == {"user": "newcomer", "role": "member"}
    assert promoted.changes == {"user": "newcomer", "role": "manager"}
    (removed,) = events(Action.MEMBERSHIP_REMOVE)
    assert removed.changes == {"user": "newcomer"}
    assert team_ids(removed) == {org.sales.pk}


def test_a_page_records_who_acted_even_when_the_service_is_not_told(client, org):
    make_user("newcomer")
    client.force_login(org.sales_manager)
    url = reverse("settings-member-add", args=[org.sales.pk])
    client.post(url, {"username": "newcomer", "role": "member"})
    (event,) = events(Action.MEMBERSHIP_SET)
    assert event.actor == org.sales_manager


def test_breach_answers_are_logged_for_both_sides(org, breach):
    lead_services.breach_acknowledge(breach=breach, user=org.sales_manager, note="ok", now=NOW)
    lead_services.breach_comment(breach=breach, user=org.rep, body="  was ill  ")
    lead_services.breach_dispute(breach=breach, user=org.sales_manager, reason="ill", now=NOW)
    lead_services.breach_resolve(
        breach=breach, user=org.marketing_manager, resolution="waived", now=NOW
    )
    expected = [
        (Action.BREACH_ACKNOWLEDGE, org.sales_manager, {"note": "ok"}),
        (Action.BREACH_COMMENT, org.rep, {"comment": "was ill"}),
        (Action.BREACH_DISPUTE, org.sales_manager, {"reason": "ill"}),
        (Action.BREACH_RESOLVE, org.marketing_manager, {"resolution": "waived"}),
    ]
    logged = AuditEvent.objects.filter(action__startswith="breach.").order_by("id")
    assert [(e.action, e.actor, e.changes) for e in logged] == expected
    assert {frozenset(team_ids(e)) for e in logged} == {frozenset({org.sales.pk, org.marketing.pk})}


def test_an_undone_touch_is_logged(org):
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=datetime(2026, 11, 1, tzinfo=BERLIN))
    lead = make_lead(org, now=NOW, handed_off_at=NOW, owner=org.rep)
    activity = lead_services.activity_log(
        lead=lead, kind=Activity.Kind.CALL, user=org.rep, occurred_at=NOW, now=NOW
    )
    lead_services.activity_undo(activity=activity, user=org.rep, now=NOW, reason="wrong lead")
    (undo,) = events(Action.ACTIVITY_UNDO)
    assert undo.actor == org.rep and undo.changes == {"reason": "wrong lead"}
    assert team_ids(undo) == {org.sales.pk}


def test_tokens_and_webhooks_are_logged_without_their_secrets(org):
    token, raw_key = integration_services.api_token_create(user=org.rep, name="CRM sync")
    integration_services.api_token_revoke(token=token, now=NOW)
    integration_services.api_token_revoke(token=token, now=NOW)  # already revoked: no event
    client = APIClient()
    _, key = integration_services.api_token_create(user=org.sales_manager, name="bot")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    subscription, secret = integration_services.webhook_subscription_create(
        owner=org.sales_manager, url="https://hooks.example.com/in", events=["breach.created"]
    )
    patch = client.patch(f"/api/v1/webhooks/{subscription.pk}/", {"name": "chat"}, format="json")
    assert patch.status_code == 200, patch.content
    assert client.delete(f"/api/v1/webhooks/{subscription.pk}/").status_code == 204

    created = events(Action.API_TOKEN_CREATE)
    assert [e.changes["name"] for e in created] == ["CRM sync", "bot"]
    assert team_ids(created[0]) == {org.sales.pk}
    assert len(events(Action.API_TOKEN_REVOKE)) == 1
    (hook,) = events(Action.WEBHOOK_CREATE)
    assert hook.changes == {"url": "https://hooks.example.com/in", "events": ["breach.created"]}
    (changed,) = events(Action.WEBHOOK_UPDATE)
    assert changed.actor == org.sales_manager  # the API token's user, from the request
    assert changed.changes == {"name": "chat"}
    (gone,) = events(Action.WEBHOOK_DELETE)
    assert gone.object_id == str(subscription.pk) and gone.actor == org.sales_manager
    everything = str(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert raw_key not in everything and key not in everything and secret not in everything


def test_a_users_access_flags_are_logged(org):
    org.rep.is_staff = True
    org.rep.save()
    org.rep.first_name = "Rita"
    org.rep.save()  # no flag changed: no event
    (event,) = events(Action.USER_ACCESS)
    assert event.changes == {"user": "rep", "is_staff": True}
    assert team_ids(event) == {org.sales.pk}


def test_an_event_is_part_of_its_services_transaction(org):
    newcomer = make_user("newcomer")
    with pytest.raises(RuntimeError), transaction.atomic():
        agreement_services.membership_set(team=org.sales, user=newcomer, role="member")
        raise RuntimeError("the change is rolled back")
    assert not Membership.objects.filter(user=newcomer).exists()
    assert events(Action.MEMBERSHIP_SET) == []


# The page -----------------------------------------------------------------------------------


@pytest.fixture
def other_org(org):
    """A second pair of teams, with their own manager and an agreement."""
    marketing = Team.objects.create(name="Marketing B", side=Side.MARKETING)
    sales = Team.objects.create(name="Sales B", side=Side.SALES)
    boss = make_user("boss_b")
    Membership.objects.create(team=sales, user=boss, role=Membership.Role.MANAGER)
    agreement = Agreement.objects.create(
        name="B", marketing_team=marketing, sales_team=sales, calendar=org.calendar
    )
    agreement_services.agreement_version_draft(agreement=agreement, summary="B's draft")
    return sales, boss


def _shown(client, **params) -> list[AuditEvent]:
    response = client.get(reverse("settings-audit"), params)
    assert response.status_code == 200
    return list(response.context["page"].object_list)


def test_a_manager_sees_only_the_events_of_the_teams_they_manage(client, org, other_org):
    sales_b, boss_b = other_org
    agreement_services.membership_set(team=org.sales, user=make_user("x"), role="member")
    client.force_login(org.sales_manager)
    mine = _shown(client)
    assert {e.action for e in mine} == {Action.VERSION_DRAFT, Action.MEMBERSHIP_SET}
    assert all(org.sales.pk in team_ids(e) for e in mine)
    assert "B&#x27;s draft" not in client.get(reverse("settings-audit")).content.decode()

    client.force_login(boss_b)
    (theirs,) = _shown(client)
    assert theirs.changes == {"summary": "B's draft"}


def test_the_marketing_manager_sees_the_agreements_events_not_sales_memberships(client, org):
    agreement_services.membership_set(team=org.sales, user=make_user("x"), role="member")
    client.force_login(org.marketing_manager)
    assert [e.action for e in _shown(client)] == [Action.VERSION_DRAFT]


def test_staff_see_everything_filtered_by_action(client, org, other_org):
    client.force_login(make_user("admin", is_staff=True))
    assert len(_shown(client)) == 2
    drafts = _shown(client, action=Action.VERSION_DRAFT)
    assert [e.action for e in drafts] == [Action.VERSION_DRAFT] * 2
    assert _shown(client, action="membership.set") == []
    assert len(_shown(client, action="not-an-action")) == 2  # an unknown filter shows all


def test_members_who_manage_nothing_are_refused(client, org):
    client.force_login(org.rep)
    assert client.get(reverse("settings-audit")).status_code == 403


def test_the_page_is_paginated(client, org):
    for i in range(60):
        agreement_services.membership_set(
            team=org.sales, user=org.rep, role=("member", "manager")[i % 2]
        )
    client.force_login(org.sales_manager)
    first = client.get(reverse("settings-audit"))
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.count == 61
    second = client.get(reverse("settings-audit"), {"page": 2, "action": "membership.set"})
    assert len(second.context["page"].object_list) == 10
    assert "action=membership.set&amp;page=1" in second.content.decode()


def test_the_admin_only_reads(client, org, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    event = AuditEvent.objects.first()
    assert client.get("/admin/audit/auditevent/?action=version.draft").status_code == 200
    assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403


def test_every_audited_action_has_a_name_on_the_audit_page():
    """Each `audit.record("…")` in the code names an Action (so the log reads in words)."""
    import re
    from pathlib import Path

    from audit.models import Action

    root = Path(__file__).resolve().parents[1]
    used = set()
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        used |= set(re.findall(r'audit\.record\(\s*"([a-z_.]+)"', path.read_text()))
    assert used, "no audit.record call found"
    assert sorted(used - set(Action.values)) == []
