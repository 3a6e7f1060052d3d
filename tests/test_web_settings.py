"""Settings pages: calendars and holidays, teams and members, rejection reasons,
notification preferences, personal API tokens (shown once, revocable)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from agreements.models import Holiday, Membership, RejectionReason
from tests.factories import activate, add_commitment, make_user


def test_the_settings_index_links_every_section(client, org):
    client.force_login(org.rep)
    html = client.get(reverse("settings")).content.decode()
    for name in ("calendars", "teams", "rejection-reasons", "notifications", "tokens"):
        assert f'href="/settings/{name}/"' in html


def test_a_manager_adds_and_removes_a_holiday(client, org, now, django_assert_max_num_queries):
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=now)  # the calendar times both teams: they must be partners in force
    client.force_login(org.sales_manager)
    response = client.post(
        reverse("settings-holiday-add", args=[org.calendar.pk]),
        {"date": "2026-12-24", "name": "Christmas Eve"},
        follow=True,
    )
    assert f"Holiday added to {org.calendar}." in response.content.decode()
    holiday = Holiday.objects.get()
    assert (holiday.calendar, holiday.date, holiday.name) == (
        org.calendar,
        date(2026, 12, 24),
        "Christmas Eve",
    )
    duplicate = client.post(
        reverse("settings-holiday-add", args=[org.calendar.pk]), {"date": "2026-12-24"}, follow=True
    )
    assert "The holiday was not added" in duplicate.content.decode()
    with django_assert_max_num_queries(8):
        page = client.get(reverse("settings-calendars"))
    assert "Thu 24 Dec 2026 Christmas Eve" in page.content.decode()
    assert "Monday 09:00–17:00" in page.content.decode()
    client.post(reverse("settings-holiday-delete", args=[holiday.pk]))
    assert not Holiday.objects.exists()


def test_a_rep_cannot_change_calendars(client, org):
    client.force_login(org.rep)
    response = client.post(
        reverse("settings-holiday-add", args=[org.calendar.pk]), {"date": "2026-12-24"}
    )
    assert response.status_code == 403
    assert not Holiday.objects.exists()


def test_a_manager_adds_a_member_to_their_team_only(client, org):
    newcomer = make_user("newcomer")
    client.force_login(org.sales_manager)
    response = client.post(
        reverse("settings-member-add", args=[org.sales.pk]),
        {"username": "newcomer", "role": "member"},
        follow=True,
    )
    assert "newcomer is now in Sales." in response.content.decode()
    assert Membership.objects.get(user=newcomer).team == org.sales
    unknown = client.post(
        reverse("settings-member-add", args=[org.sales.pk]),
        {"username": "ghost", "role": "member"},
        follow=True,
    )
    assert "No user is called &#x27;ghost&#x27;." in unknown.content.decode()
    other = client.post(
        reverse("settings-member-add", args=[org.marketing.pk]),
        {"username": "newcomer", "role": "manager"},
    )
    assert other.status_code == 403


def test_a_manager_removes_a_member_but_never_the_last_manager(client, org):
    client.force_login(org.sales_manager)
    page = client.get(reverse("settings-teams")).content.decode()
    remove_rep = reverse("settings-member-remove", args=[org.sales.pk, org.rep.pk])
    assert f'action="{remove_rep}"' in page
    response = client.post(remove_rep, follow=True)
    assert f"{org.rep} is no longer in Sales." in response.content.decode()
    assert not Membership.objects.filter(team=org.sales, user=org.rep).exists()
    remove_self = reverse("settings-member-remove", args=[org.sales.pk, org.sales_manager.pk])
    response = client.post(remove_self, follow=True)
    assert "is the last manager of Sales: name another one first." in response.content.decode()
    assert Membership.objects.filter(team=org.sales, user=org.sales_manager).exists()
    other_team = reverse("settings-member-remove", args=[org.marketing.pk, org.marketer.pk])
    assert client.post(other_team).status_code == 403
    assert Membership.objects.filter(team=org.marketing, user=org.marketer).exists()


def test_the_teams_page_lists_members_without_n_plus_one(
    client, org, django_assert_max_num_queries
):
    for i in range(15):
        Membership.objects.create(team=org.sales, user=make_user(f"extra{i}"))
    client.force_login(org.rep)
    client.get(reverse("settings-teams"))
    with django_assert_max_num_queries(8):
        html = client.get(reverse("settings-teams")).content.decode()
    assert "extra14" in html


def test_managers_keep_the_rejection_reasons(client, org):
    client.force_login(org.marketing_manager)  # the list is sales': marketing reads it
    assert client.post(reverse("settings-reasons"), {"label": "x", "code": "x"}).status_code == 403
    client.force_login(org.sales_manager)
    response = client.post(
        reverse("settings-reasons"),
        {"label": "No budget", "code": "no-budget", "order": 1, "team": org.sales.pk},
        follow=True,
    )
    assert "Reason “No budget” added." in response.content.decode()
    bad = client.post(
        reverse("settings-reasons"),
        {"label": "No budget", "code": "no budget", "team": org.sales.pk},
    )
    assert bad.status_code == 400
    again = client.post(
        reverse("settings-reasons"), {"label": "Again", "code": "no-budget", "team": org.sales.pk}
    )
    assert "This list already has a reason with this code." in again.content.decode()
    reason = RejectionReason.objects.get()
    assert reason.team == org.sales
    client.post(reverse("settings-reason-toggle", args=[reason.pk]))
    reason.refresh_from_db()
    assert reason.is_active is False
    client.force_login(org.rep)
    assert client.post(reverse("settings-reasons"), {"label": "x", "code": "x"}).status_code == 403


def test_notification_preferences_are_saved(client, org):
    from alerts.selectors import preferences_for

    client.force_login(org.rep)
    page = client.get(reverse("settings-notifications"))
    assert page.status_code == 200
    assert 'name="mode-breach"' in page.content.decode()
    response = client.post(
        reverse("settings-notifications"),
        {"mode-breach": "digest", "mode-warning": "off", "mode-digest": "digest"},
        follow=True,
    )
    assert "Notification preferences saved (2 changed)." in response.content.decode()
    modes = {p["event"]: p["mode"] for p in preferences_for(org.rep)}
    assert (modes["breach"], modes["warning"], modes["digest"]) == ("digest", "off", "digest")


def test_a_manager_cannot_turn_off_escalations(client, org):
    client.force_login(org.sales_manager)
    page = client.get(reverse("settings-notifications")).content.decode()
    escalation = page[page.index('name="mode-escalation"') :]
    assert 'value="off"' not in escalation[: escalation.index("</select>")]
    response = client.post(reverse("settings-notifications"), {"mode-escalation": "off"})
    assert response.status_code == 400
    assert "A manager cannot turn off escalations." in response.content.decode()


def test_an_api_token_is_shown_once_and_can_be_revoked(client, org):
    from integrations.models import ApiToken

    client.force_login(org.rep)
    response = client.post(reverse("settings-tokens"), {"name": "CRM sync"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw_key = response.context["raw_key"]
    token = ApiToken.objects.get()
    assert raw_key.startswith(token.prefix) and raw_key in response.content.decode()
    # Shown once: the list afterwards has only the prefix.
    again = client.get(reverse("settings-tokens")).content.decode()
    assert raw_key not in again and f"{token.prefix}…" in again
    # The key works on the API until it is revoked.
    api = Client()
    auth = {"HTTP_AUTHORIZATION": f"Token {raw_key}"}
    assert api.get("/api/v1/teams/", **auth).status_code == 200
    client.post(reverse("settings-token-revoke", args=[token.pk]))
    assert api.get("/api/v1/teams/", **auth).status_code in (401, 403)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_revokes_someone_elses_token(client, org):
    from integrations.services import api_token_create

    token, _ = api_token_create(user=org.rep2, name="Theirs")
    client.force_login(org.rep)
    assert client.post(reverse("settings-token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("name", ["", "   "])
def test_a_token_needs_a_name(client, org, name):
    client.force_login(org.rep)
    response = client.post(reverse("settings-tokens"), {"name": name})
    assert response.status_code == 400


def test_a_teams_rejection_reasons_are_its_own(client, org):
    from agreements.models import Side, Team
    from leads import services
    from tests.factories import LONG_AGO, activate, add_commitment, make_lead

    other = Team.objects.create(name="Other sales", side=Side.SALES)
    other_manager = make_user("other_sm")
    Membership.objects.create(team=other, user=other_manager, role="manager")
    ours = RejectionReason.objects.create(team=org.sales, code="no-budget", label="No budget")
    RejectionReason.objects.create(team=other, code="too-small", label="Too small")
    RejectionReason.objects.create(code="duplicate", label="Duplicate")  # every team's (staff)

    client.force_login(other_manager)
    page = client.get(reverse("settings-reasons")).content.decode()
    assert "Too small" in page and "Duplicate" in page and "No budget" not in page
    toggle = client.post(reverse("settings-reason-toggle", args=[ours.pk]))
    assert toggle.status_code == 404  # another team's list is not even visible
    foreign = client.post(
        reverse("settings-reasons"), {"label": "Mine", "code": "mine", "team": org.sales.pk}
    )
    assert foreign.status_code == 400  # only his own team is a choice
    assert not RejectionReason.objects.filter(code="mine").exists()

    add_commitment(org.version, "disposition", within="P1D")
    activate(org, now=LONG_AGO)
    lead = make_lead(org, now=LONG_AGO, handed_off_at=LONG_AGO)
    with pytest.raises(ValidationError):  # another team's reason is not on this lead's list
        services.lead_reject(lead=lead, reason="too-small", now=LONG_AGO)
    services.lead_reject(lead=lead, reason="duplicate", now=LONG_AGO)
    lead.refresh_from_db()
    assert lead.rejection_reason == "Duplicate"
