"""The setup pages: first-run setup, the invitation link, invitations and roles on the teams
page, the business-hours editor with its preview, public holidays, inbound webhook sources."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from agreements import invitations
from agreements.models import Invitation, Membership, Team, WorkingHours
from integrations.models import WebhookSource
from tests.factories import activate, add_commitment, make_user

pytestmark = pytest.mark.django_db

SETUP = {
    "marketing_name": "Growth",
    "sales_name": "Closers",
    "marketing_manager_email": "mia@example.com",
    "sales_manager_email": "sam@example.com",
    "calendar_name": "Berlin office",
    "timezone": "Europe/Berlin",
    "holiday_country": "DE",
    "holiday_subdivision": "",
    "agreement_name": "Growth–Closers SLA",
}


def test_staff_lands_on_the_setup_of_an_empty_database(client, django_assert_max_num_queries):
    client.force_login(make_user("root", is_staff=True))
    assert client.get(reverse("home")).url == reverse("settings-setup")
    with django_assert_max_num_queries(6):
        page = client.get(reverse("settings-setup"))
    html = page.content.decode()
    assert "Sales will make a first touch on every Tier A lead within 15 business minutes" in html
    assert "Marketing will deliver at least 40 SALs each month." in html
    assert 'href="/settings/setup/"' in client.get(reverse("settings")).content.decode()


def test_the_setup_creates_the_teams_and_opens_the_draft(client):
    client.force_login(make_user("root", is_staff=True))
    response = client.post(reverse("settings-setup"), SETUP, follow=True)
    html = response.content.decode()
    assert (
        "Growth and Closers are set up; invitations sent to mia@example.com, sam@example.com"
        in (html)
    )
    assert "Growth–Closers SLA" in html and "within 2 working days of hand-off" in html
    assert Team.objects.count() == 2 and len(mail.outbox) == 2
    # Done once: the page now sends staff to the teams.
    again = client.get(reverse("settings-setup"), follow=True)
    assert "Setup is done" in again.content.decode()


def test_a_wrong_setup_field_is_named_next_to_it(client):
    client.force_login(make_user("root", is_staff=True))
    response = client.post(reverse("settings-setup"), SETUP | {"timezone": "Mars/Base"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "&#x27;Mars/Base&#x27; is not a known IANA time zone." in html
    assert html.index("Mars/Base&#x27; is not") > html.index('name="timezone"')
    long = client.post(reverse("settings-setup"), SETUP | {"agreement_name": "x" * 151})
    assert long.status_code == 400 and "at most 150 characters" in long.content.decode()
    assert not Team.objects.exists()


def test_the_setup_is_not_for_managers(client, org):
    client.force_login(org.sales_manager)
    assert client.get(reverse("settings-setup")).status_code == 403


def test_an_invitation_link_sets_a_password_once(client, org, now):
    _, raw = invitations.invitation_create(
        user=org.sales_manager, team=org.sales, email="nina@example.com", role="member", now=now
    )
    url = reverse("invitation-accept", args=[raw])
    page = client.get(url)
    assert "Join Sales" in page.content.decode() and page["Cache-Control"] == "no-store"
    mismatch = client.post(
        url, {"username": "nina", "password": "a-long-pass", "password_again": "other"}
    )
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.content.decode()
    done = client.post(
        url,
        {"username": "nina", "password": "a-long-pass", "password_again": "a-long-pass"},
        follow=True,
    )
    assert "Welcome to Sales: log in with your new password." in done.content.decode()
    assert Membership.objects.get(user__username="nina").team == org.sales
    used = client.get(url)
    assert used.status_code == 410 and "already been used" in used.content.decode()


def test_an_expired_link_says_so(client, org, now):
    _, raw = invitations.invitation_create(
        user=org.sales_manager, team=org.sales, email="old@example.com", role="member", now=now
    )
    Invitation.objects.update(expires_at=now - timedelta(minutes=1))
    page = client.get(reverse("invitation-accept", args=[raw]))
    assert page.status_code == 410
    assert "This invitation expired on 25 Nov 2026 08:59 UTC." in page.content.decode()


def test_a_manager_invites_and_changes_roles_on_the_teams_page(
    client, org, django_assert_max_num_queries
):
    client.force_login(org.sales_manager)
    sent = client.post(
        reverse("settings-invite", args=[org.sales.pk]),
        {"email": "ola@example.com", "role": "member"},
        follow=True,
    )
    assert "Invitation sent to ola@example.com" in sent.content.decode()
    with django_assert_max_num_queries(9):
        page = client.get(reverse("settings-teams"))
    assert "ola@example.com (member) — link valid until" in page.content.decode()
    demote = reverse("settings-member-role", args=[org.sales.pk, org.sales_manager.pk])
    refused = client.post(demote, {"role": "member"}, follow=True)
    assert "is the last manager of Sales: name another one first." in refused.content.decode()
    promote = reverse("settings-member-role", args=[org.sales.pk, org.rep.pk])
    assert (
        "rep is now manager of Sales."
        in client.post(promote, {"role": "manager"}, follow=True).content.decode()
    )
    client.post(demote, {"role": "member"})
    assert Membership.objects.get(team=org.sales, user=org.sales_manager).role == "member"
    assert (
        client.post(
            reverse("settings-invite", args=[org.marketing.pk]),
            {"email": "x@y.com", "role": "member"},
        ).status_code
        == 403
    )


def test_a_member_is_added_by_email_too(client, org):
    newcomer = make_user("newcomer")
    client.force_login(org.sales_manager)
    client.post(
        reverse("settings-member-add", args=[org.sales.pk]),
        {"username": "NEWCOMER@example.com", "role": "member"},
    )
    assert Membership.objects.get(user=newcomer).team == org.sales


def test_the_hours_editor_previews_and_saves(client, org, now, django_assert_max_num_queries):
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=now)
    client.force_login(org.sales_manager)
    url = reverse("settings-calendar-hours", args=[org.calendar.pk])
    client.get(url)  # the first page of a session stores its time zone
    with django_assert_max_num_queries(10):
        page = client.get(url)
    assert 'value="09:00-17:00"' in page.content.decode()
    week = {f"day_{d}": "08:00-12:00, 13:00-16:00" for d in range(5)} | {"day_5": "", "day_6": ""}
    preview = client.post(url, week | {"preview": "1"})
    html = preview.content.decode()
    assert "Next working moments with these hours (not saved)" in html
    assert WorkingHours.objects.filter(calendar=org.calendar).count() == 5
    saved = client.post(url, week | {"save": "1"}, follow=True)
    assert f"Working hours of {org.calendar} saved." in saved.content.decode()
    assert WorkingHours.objects.filter(calendar=org.calendar).count() == 10
    bad = client.post(url, week | {"day_2": "08:00-12:00, 11:00-13:00", "save": "1"})
    assert bad.status_code == 400 and "Intervals overlap around 11:00." in bad.content.decode()
    assert WorkingHours.objects.filter(calendar=org.calendar).count() == 10
    country = client.post(
        reverse("settings-calendar-public-holidays", args=[org.calendar.pk]),
        {"country": "de", "subdivision": "by"},
        follow=True,
    )
    assert "now skips the public holidays of DE-BY." in country.content.decode()
    assert "Weihnachtstag" in country.content.decode() or "Christmas" in country.content.decode()


def test_a_rep_cannot_open_the_hours_editor(client, org):
    client.force_login(org.rep)
    assert client.get(reverse("settings-calendar-hours", args=[org.calendar.pk])).status_code == 403


def test_staff_keep_the_inbound_sources(client, org, django_assert_max_num_queries):
    client.force_login(org.sales_manager)
    assert client.get(reverse("settings-webhook-sources")).status_code == 403
    client.force_login(make_user("root", is_staff=True))
    created = client.post(
        reverse("settings-webhook-sources"), {"name": "HubSpot", "slug": "hubspot"}
    )
    source = WebhookSource.objects.get()
    html = created.content.decode()
    assert source.secret in html and created["Cache-Control"] == "no-store"
    assert "/api/v1/inbound/hubspot/" in html
    with django_assert_max_num_queries(6):
        listing = client.get(reverse("settings-webhook-sources"))
    assert source.secret not in listing.content.decode()
    rotated = client.post(reverse("settings-webhook-source-rotate", args=[source.pk]))
    source.refresh_from_db()
    assert source.secret in rotated.content.decode()
    off = client.post(reverse("settings-webhook-source-toggle", args=[source.pk]), follow=True)
    assert "“HubSpot” is off: its requests are refused." in off.content.decode()
    bad = client.post(reverse("settings-webhook-sources"), {"name": "X", "slug": "not a slug"})
    assert bad.status_code == 400 and "Enter a valid “slug”" in bad.content.decode()
