"""Setup without the admin, service by service: the first-run setup and its template terms,
invitations (expiry, single use), role changes that keep a manager, business hours (several
intervals a day, validated) with their preview, public holidays, inbound webhook sources."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from agreements import hours, invitations, services, setup
from agreements.models import (
    AgreementVersion,
    BusinessCalendar,
    Holiday,
    Invitation,
    Membership,
    Team,
    WorkingHours,
)
from audit.models import AuditEvent
from integrations import sources
from integrations.models import WebhookSource
from tests.factories import activate, add_commitment, make_user

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def run_setup(user, now, **overrides):
    fields = {
        "marketing_name": "Growth",
        "sales_name": "Closers",
        "timezone": "Europe/Berlin",
        "calendar_name": "Berlin office",
        "agreement_name": "Growth–Closers SLA",
        "holiday_country": "de",
        "holiday_subdivision": "by",
        "marketing_manager_email": "mia@example.com",
        "sales_manager_email": "Sam@Example.com",
    }
    return setup.first_run_setup(user=user, now=now, **(fields | overrides))


# First-run setup ------------------------------------------------------------------------


def test_setup_creates_both_teams_a_calendar_and_the_template_draft(now):
    staff = make_user("root", is_staff=True)
    result = run_setup(staff, now)
    assert [(t.name, t.side, t.calendar.name) for t in Team.objects.order_by("side")] == [
        ("Growth", "marketing", "Berlin office"),
        ("Closers", "sales", "Berlin office"),
    ]
    calendar = BusinessCalendar.objects.get()
    assert (calendar.timezone, calendar.holiday_country, calendar.holiday_subdivision) == (
        "Europe/Berlin",
        "DE",
        "BY",
    )
    assert [str(h) for h in WorkingHours.objects.order_by("weekday")] == [
        "Monday 09:00–17:00",
        "Tuesday 09:00–17:00",
        "Wednesday 09:00–17:00",
        "Thursday 09:00–17:00",
        "Friday 09:00–17:00",
    ]
    version = result.version
    assert (version.number, version.status) == (1, AgreementVersion.Status.DRAFT)
    rows = [
        (
            c.kind,
            c.applies_to,
            c.clock,
            c.within,
            c.attempts,
            c.every,
            c.target,
            c.stage,
            c.period,
            c.min_acceptance_pct,
        )
        for c in version.commitments.order_by("kind", "order")
    ]
    assert rows == [
        ("disposition", {}, "business", "P2D", None, "", None, "", "", None),
        ("first_touch", {"tier": ["A"]}, "business", "PT15M", None, "", None, "", "", None),
        ("first_touch", {"tier": ["B"]}, "business", "PT4H", None, "", None, "", "", None),
        ("first_touch", {"tier": ["C"]}, "business", "P2D", None, "", None, "", "", None),
        ("follow_up", {}, "business", "", 5, "P1D", None, "", "", None),
        ("lead_quality", {}, "business", "", None, "", None, "", "month", 60),
        ("lead_volume", {}, "business", "", None, "", 40, "sal", "month", None),
    ]
    # Both managers are invited; the people come in through their links.
    assert sorted((i.email, i.team.name, i.role) for i in Invitation.objects.all()) == [
        ("mia@example.com", "Growth", "manager"),
        ("sam@example.com", "Closers", "manager"),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == ["mia@example.com", "sam@example.com"]
    assert AuditEvent.objects.filter(action="setup.run", actor=staff).count() == 1


def test_the_template_draft_can_be_proposed_as_it_is(now):
    result = run_setup(make_user("root", is_staff=True), now)
    services.agreement_version_propose(version=result.version, now=now)
    result.version.refresh_from_db()
    assert result.version.status == "proposed"


def test_setup_runs_only_for_staff_and_only_once(now):
    with pytest.raises(PermissionDenied):
        run_setup(make_user("manager"), now)
    staff = make_user("root", is_staff=True)
    run_setup(staff, now)
    with pytest.raises(PermissionDenied):
        run_setup(staff, now, marketing_name="Other", sales_name="Others", calendar_name="X")
    assert Team.objects.count() == 2


def test_setup_says_which_field_is_wrong_and_creates_nothing(now):
    staff = make_user("root", is_staff=True)
    for overrides, field in [
        ({"sales_name": "growth"}, "sales_name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_subdivision": "ZZ"}, "holiday_subdivision"),
        ({"sales_manager_email": "not-an-email"}, "sales_manager_email"),
    ]:
        with pytest.raises(ValidationError) as caught:
            run_setup(staff, now, **overrides)
        assert field in caught.value.message_dict, overrides
    assert not Team.objects.exists() and not BusinessCalendar.objects.exists()
    assert not Invitation.objects.exists()


# Invitations ------------------------------------------------------------------------------


def test_an_invitation_makes_the_user_and_membership_once(org, now):
    invitation, raw = invitations.invitation_create(
        user=org.sales_manager, team=org.sales, email="New.Rep@Example.com", role="member", now=now
    )
    assert invitation.token_hash != raw and raw not in invitation.token_hash
    assert invitation.expires_at == now + timedelta(days=7)
    assert mail.outbox[-1].to == ["new.rep@example.com"]
    assert f"/invitations/{raw}/" in mail.outbox[-1].body
    user = invitations.invitation_accept(
        raw_token=raw, username="newrep", password="a-long-pass-phrase", now=now
    )
    assert user.email == "new.rep@example.com" and user.check_password("a-long-pass-phrase")
    assert Membership.objects.get(user=user).team == org.sales
    assert Membership.objects.get(user=user).role == "member"
    with pytest.raises(ValidationError, match="already been used"):
        invitations.invitation_accept(
            raw_token=raw, username="again", password="a-long-pass-phrase", now=now
        )
    assert not User.objects.filter(username="again").exists()


def test_an_expired_invitation_is_refused(org, now):
    _, raw = invitations.invitation_create(
        user=org.sales_manager, team=org.sales, email="late@elsewhere.com", role="member", now=now
    )
    later = now + timedelta(days=7)  # expires_at itself is already too late
    with pytest.raises(ValidationError, match="expired on 02 Dec 2026 09:00 UTC"):
        invitations.invitation_accept(
            raw_token=raw, username="late", password="a-long-pass-phrase", now=later
        )
    assert not User.objects.filter(username="late").exists()
    with pytest.raises(ValidationError, match="not valid"):
        invitations.invitation_for_token("made-up", now=now)


def test_only_a_manager_of_the_team_invites(org, now):
    for user in (org.rep, org.marketing_manager):
        with pytest.raises(PermissionDenied):
            invitations.invitation_create(
                user=user, team=org.sales, email="x@y.com", role="member", now=now
            )
    with pytest.raises(ValidationError) as caught:
        invitations.invitation_create(
            user=org.sales_manager, team=org.sales, email="rep@example.com", role="member", now=now
        )
    assert "already has an account" in caught.value.message_dict["email"][0]


def test_accepting_checks_username_and_password(org, now):
    _, raw = invitations.invitation_create(
        user=org.sales_manager, team=org.sales, email="n@x.com", role="manager", now=now
    )
    with pytest.raises(ValidationError) as caught:
        invitations.invitation_accept(raw_token=raw, username="REP", password="x", now=now)
    assert "taken" in caught.value.message_dict["username"][0]
    with pytest.raises(ValidationError) as caught:
        invitations.invitation_accept(raw_token=raw, username="n", password="123", now=now)
    assert "password" in caught.value.message_dict
    invitations.invitation_accept(raw_token=raw, username="n", password="a-long-pass", now=now)
    assert Membership.objects.get(user__username="n").role == "manager"


# Roles: a team keeps a manager ------------------------------------------------------------


def test_the_last_manager_cannot_demote_himself_or_leave(org):
    with pytest.raises(ValidationError, match="last manager of Sales"):
        services.membership_change_role(
            user=org.sales_manager, team=org.sales, member=org.sales_manager, role="member"
        )
    with pytest.raises(ValidationError, match="last manager of Sales"):
        services.membership_remove(team=org.sales, user=org.sales_manager)
    assert Membership.objects.get(user=org.sales_manager).role == "manager"
    services.membership_change_role(
        user=org.sales_manager, team=org.sales, member=org.rep, role="manager"
    )
    services.membership_change_role(
        user=org.sales_manager, team=org.sales, member=org.sales_manager, role="member"
    )
    assert dict(
        Membership.objects.filter(team=org.sales).values_list("user__username", "role")
    ) == {
        "rep": "manager",
        "rep2": "member",
        "sales_manager": "member",
    }


def test_only_a_manager_changes_roles(org):
    with pytest.raises(PermissionDenied):
        services.membership_change_role(
            user=org.rep, team=org.sales, member=org.rep, role="manager"
        )
    with pytest.raises(ValidationError, match="not in Sales"):
        services.membership_change_role(
            user=org.sales_manager, team=org.sales, member=org.marketer, role="member"
        )


# Business hours, holidays -----------------------------------------------------------------


def test_a_day_holds_several_intervals_without_overlap():
    assert hours.parse_day("13:00-17:00, 09:00-12:00") == [
        (time(9), time(12)),
        (time(13), time(17)),
    ]
    assert hours.parse_day("") == []
    assert hours.parse_day("18:00-24:00") == [(time(18), time(0))]
    for text, message in [
        ("09:00-12:00, 11:00-17:00", "overlap around 11:00"),
        ("17:00-09:00", "start must come before the end"),
        ("09:00-09:00", "start must come before the end"),
        ("9-17", "not an interval like 09:00-17:00"),
        ("09:00-25:00", "not an interval"),
    ]:
        with pytest.raises(ValueError, match=message):
            hours.parse_day(text)


def test_saving_hours_replaces_the_week_and_the_preview_follows(org, now):
    add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=now)  # partners in force: the shared calendar is the managers' too
    split = [(time(9), time(12)), (time(13), time(17))]
    hours.calendar_hours_set(
        user=org.sales_manager, calendar=org.calendar, week={d: split for d in range(5)}
    )
    assert WorkingHours.objects.filter(calendar=org.calendar).count() == 10
    # Wednesday 25 Nov 2026, 10:00 in Berlin: the rest of the morning comes first.
    assert hours.next_working_moments(org.calendar, now=now) == [
        (berlin(2026, 11, 25, 10), berlin(2026, 11, 25, 12)),
        (berlin(2026, 11, 25, 13), berlin(2026, 11, 25, 17)),
        (berlin(2026, 11, 26, 9), berlin(2026, 11, 26, 12)),
        (berlin(2026, 11, 26, 13), berlin(2026, 11, 26, 17)),
        (berlin(2026, 11, 27, 9), berlin(2026, 11, 27, 12)),
    ]
    assert AuditEvent.objects.filter(action="calendar.hours", actor=org.sales_manager).exists()


def test_the_preview_skips_holidays_and_shows_unsaved_hours(org, now):
    staff = make_user("root", is_staff=True)
    hours.holiday_add(user=staff, calendar=org.calendar, day=date(2026, 11, 26))
    unsaved = {3: [(time(8), time(10))], 4: [(time(8), time(10))]}  # Thursday, Friday
    assert hours.next_working_moments(org.calendar, now=now, week=unsaved, count=3) == [
        (berlin(2026, 11, 27, 8), berlin(2026, 11, 27, 10)),  # Thursday 26th is a holiday
        (berlin(2026, 12, 3, 8), berlin(2026, 12, 3, 10)),
        (berlin(2026, 12, 4, 8), berlin(2026, 12, 4, 10)),
    ]
    assert WorkingHours.objects.filter(calendar=org.calendar).count() == 5  # unchanged
    assert hours.next_working_moments(org.calendar, now=now, week={}, count=3) == []


def test_hours_are_checked_and_kept_by_managers(org):
    with pytest.raises(PermissionDenied):  # shared with marketing, not partners in force yet
        hours.calendar_hours_set(user=org.sales_manager, calendar=org.calendar, week={})
    with pytest.raises(ValidationError) as caught:
        hours.calendar_hours_set(
            user=make_user("root", is_staff=True),
            calendar=org.calendar,
            week={0: [(time(9), time(12)), (time(11), time(13))]},
        )
    assert "overlap" in caught.value.message_dict["day_0"][0]
    with pytest.raises(PermissionDenied):
        hours.calendar_hours_set(user=org.rep, calendar=org.calendar, week={})
    assert WorkingHours.objects.filter(calendar=org.calendar).count() == 5


def test_public_holidays_by_country_and_region(org, now):
    # Both teams must be partners for a manager to edit the calendar they share.
    staff = make_user("root", is_staff=True)
    hours.calendar_public_holidays_set(
        user=staff, calendar=org.calendar, country="de", subdivision="BY"
    )
    org.calendar.refresh_from_db()
    upcoming = hours.upcoming_public_holidays(org.calendar, today=date(2026, 12, 1), count=3)
    assert [d for d, _ in upcoming] == [date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)]
    # Epiphany is a holiday in Bavaria, not in Berlin: the region matters to the clocks.
    moments = hours.next_working_moments(org.calendar, now=berlin(2027, 1, 5, 17), count=1)
    assert moments == [(berlin(2027, 1, 7, 9), berlin(2027, 1, 7, 17))]
    with pytest.raises(ValidationError) as caught:
        hours.calendar_public_holidays_set(user=staff, calendar=org.calendar, country="XX")
    assert "holiday_country" in caught.value.message_dict


def test_own_holiday_dates_are_audited(org):
    staff = make_user("root", is_staff=True)
    holiday = hours.holiday_add(user=staff, calendar=org.calendar, day=date(2026, 12, 24))
    with pytest.raises(ValidationError, match="already a holiday"):
        hours.holiday_add(user=staff, calendar=org.calendar, day=date(2026, 12, 24))
    hours.holiday_delete(user=staff, holiday=holiday)
    assert not Holiday.objects.exists()
    logged = AuditEvent.objects.filter(action__startswith="holiday.", actor=staff)
    assert sorted(logged.values_list("action", flat=True)) == ["holiday.add", "holiday.delete"]


# Inbound webhook sources --------------------------------------------------------------------


def test_staff_add_rotate_and_turn_off_a_source(org):
    staff = make_user("root", is_staff=True)
    with pytest.raises(PermissionDenied):
        sources.webhook_source_add(user=org.sales_manager, name="CRM", slug="crm")
    source, secret = sources.webhook_source_add(user=staff, name="CRM", slug="crm")
    assert (source.source_system, source.secret, secret.startswith("whsec_")) == (
        "crm",
        secret,
        True,
    )
    with pytest.raises(ValidationError) as caught:
        sources.webhook_source_add(user=staff, name="Again", slug="crm")
    assert "slug" in caught.value.message_dict
    rotated = sources.webhook_source_rotate(user=staff, source=source)
    assert rotated != secret and WebhookSource.objects.get().secret == rotated
    sources.webhook_source_set_active(user=staff, source=source, active=False)
    assert not WebhookSource.objects.get().is_active
    logged = AuditEvent.objects.filter(action__startswith="webhook_source.")
    assert logged.count() == 3
    assert all(secret not in str(e.changes) and rotated not in str(e.changes) for e in logged)


def test_an_invitation_whose_email_fails_is_not_kept(org, now, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(invitations, "send_mail", refuse)
    with pytest.raises(ValidationError) as caught:
        invitations.invitation_create(
            user=org.sales_manager, team=org.sales, email="z@z.com", role="member", now=now
        )
    assert "could not be sent" in caught.value.message_dict["email"][0]
    assert not Invitation.objects.exists()
