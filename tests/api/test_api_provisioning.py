"""Provisioning a company through the API: calendars with hours and holidays, teams, members
(invited by email), rejection reasons; the pages' rules; re-runs with an Idempotency-Key
change nothing. (Who may do what, role by role: tests/test_permissions_matrix.py.)"""

from __future__ import annotations

from datetime import date, time

import pytest
from django.core import mail

from agreements.models import (
    BusinessCalendar,
    Holiday,
    Invitation,
    Membership,
    RejectionReason,
    Team,
    WorkingHours,
)
from audit.models import AuditEvent
from tests.factories import make_user

pytestmark = pytest.mark.services

CALENDAR = {
    "name": "Oslo office",
    "timezone": "Europe/Oslo",
    "holiday_country": "NO",
    "hours": [{"weekday": day, "start": "08:00:00", "end": "12:00:00"} for day in range(5)]
    + [{"weekday": day, "start": "12:30:00", "end": "16:00:00"} for day in range(5)],
    "holidays": [{"date": "2026-12-28", "name": "Office closed"}],
}


@pytest.fixture
def staff(db, require_postgres):
    return make_user("ops", is_staff=True)


def provision(client, key: str = "") -> dict:
    """The script of docs/api.md "Provisioning a company", answer by answer."""
    headers = (lambda step: {"HTTP_IDEMPOTENCY_KEY": f"{key}-{step}"}) if key else (lambda s: {})
    out = {}
    out["calendar"] = client.post("/api/v1/calendars/", CALENDAR, format="json", **headers(1))
    calendar = out["calendar"].json()["id"]
    for step, (side, name) in enumerate(
        [("marketing", "Nordic Marketing"), ("sales", "Nordic Sales")]
    ):
        out[side] = client.post(
            "/api/v1/teams/",
            {"name": name, "side": side, "timezone": "Europe/Oslo", "calendar": calendar},
            format="json",
            **headers(2 + step),
        )
    sales = out["sales"].json()["id"]
    out["invite"] = client.post(
        f"/api/v1/teams/{sales}/members/",
        {"email": "Kari@Nordic.example", "role": "manager"},
        format="json",
        **headers(4),
    )
    out["reason"] = client.post(
        "/api/v1/rejection-reasons/",
        {"team": sales, "code": "no-budget", "label": "No budget", "order": 1},
        format="json",
        **headers(5),
    )
    return out


def test_staff_provisions_a_company(staff, as_user, frozen):
    out = provision(as_user(staff))
    assert {k: r.status_code for k, r in out.items()} == {
        "calendar": 201,
        "marketing": 201,
        "sales": 201,
        "invite": 201,
        "reason": 201,
    }
    calendar = BusinessCalendar.objects.get(name="Oslo office")
    assert (calendar.timezone, calendar.holiday_country) == ("Europe/Oslo", "NO")
    monday = WorkingHours.objects.filter(calendar=calendar, weekday=0).order_by("start")
    assert [(h.start, h.end) for h in monday] == [(time(8), time(12)), (time(12, 30), time(16))]
    assert WorkingHours.objects.filter(calendar=calendar).count() == 10  # 2 a day, Mon–Fri
    assert list(Holiday.objects.values_list("date", "name")) == [
        (date(2026, 12, 28), "Office closed")
    ]
    assert out["calendar"].json()["hours"][0] == {
        "weekday": 0,
        "start": "08:00:00",
        "end": "12:00:00",
    }
    sales = Team.objects.get(name="Nordic Sales")
    assert (sales.side, sales.calendar, sales.timezone) == ("sales", calendar, "Europe/Oslo")
    # Nobody has kari@nordic.example yet: invited as manager, by email.
    assert out["invite"].json() == {
        "state": "invited",
        "user": None,
        "email": "kari@nordic.example",
        "role": "manager",
        "invitation_expires_at": "2026-12-02T09:00:00Z",  # 7 days after `now` (10:00 Berlin)
    }
    assert [m.to for m in mail.outbox] == [["kari@nordic.example"]]
    assert out["reason"].json() == {
        "id": RejectionReason.objects.get().pk,
        "team": sales.pk,
        "code": "no-budget",
        "label": "No budget",
        "is_active": True,
        "order": 1,
    }
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "calendar.create",
        "calendar.hours",
        "holiday.add",
        "team.create",
        "invitation.create",
        "rejection_reason.create",
    }


def test_the_same_script_run_twice_with_keys_changes_nothing(staff, as_user, frozen):
    client = as_user(staff)
    first = provision(client, key="run-1")
    again = provision(client, key="run-1")
    assert {k: r.status_code for k, r in again.items()} == {k: 201 for k in first}
    assert all(r["Idempotent-Replayed"] == "true" for r in again.values())
    assert {k: r.json() for k, r in again.items()} == {k: r.json() for k, r in first.items()}
    assert BusinessCalendar.objects.count() == 1
    assert Team.objects.count() == 2
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1  # one invitation email
    assert RejectionReason.objects.count() == 1


def test_a_key_used_with_another_body_is_a_422(staff, as_user, frozen):
    client = as_user(staff)
    body = {"name": "One", "side": "sales"}
    assert (
        client.post("/api/v1/teams/", body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code
        == 201
    )
    other = client.post(
        "/api/v1/teams/", {**body, "name": "Two"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert list(Team.objects.values_list("name", flat=True)) == ["One"]


def test_a_refused_request_stores_no_key(staff, as_user, frozen):
    client = as_user(staff)
    bad = client.post(
        "/api/v1/teams/", {"name": "X", "side": "finance"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"side"}
    fixed = client.post(
        "/api/v1/teams/", {"name": "X", "side": "sales"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert fixed.status_code == 201


def test_members_by_username_and_email_and_the_last_manager_stays(org, as_user, frozen):
    client = as_user(org.sales_manager)
    url = f"/api/v1/teams/{org.sales.pk}/members/"
    newcomer = make_user("newcomer")
    added = client.post(url, {"username": "newcomer"}, format="json")
    assert added.status_code == 201
    assert added.json()["state"] == "member" and added.json()["user"] == newcomer.pk
    again = client.post(url, {"email": "NEWCOMER@example.com"}, format="json")
    assert again.status_code == 200  # already a member with that role: nothing changed
    assert len(mail.outbox) == 0
    # The only manager cannot step down, nor be removed.
    me = f"{url}{org.sales_manager.pk}/"
    demote = client.patch(me, {"role": "member"}, format="json")
    assert demote.status_code == 400
    assert "last manager" in demote.json()["detail"]
    assert client.delete(me).status_code == 400
    promoted = client.patch(f"{url}{newcomer.pk}/", {"role": "manager"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "manager"
    assert client.patch(me, {"role": "member"}, format="json").status_code == 200
    assert Membership.objects.get(team=org.sales, user=org.sales_manager).role == "member"
    # A member is not a manager any more: no more changes to the team's members.
    assert client.delete(f"{url}{org.rep.pk}/").status_code == 403


def test_a_manager_changes_his_calendars_hours_and_holidays_not_its_name(sla, as_user, frozen):
    org = sla  # the calendar times both teams of an agreement in force: their managers' own
    client = as_user(org.sales_manager)
    url = f"/api/v1/calendars/{org.calendar.pk}/"
    Holiday.objects.create(calendar=org.calendar, date=date(2026, 12, 24), name="Eve")
    answer = client.patch(
        url,
        {
            "hours": [{"weekday": 0, "start": "10:00:00", "end": "14:00:00"}],
            "holidays": [
                {"date": "2026-12-24", "name": "Eve"},
                {"date": "2026-12-31", "name": "New Year's Eve"},
            ],
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["hours"] == [{"weekday": 0, "start": "10:00:00", "end": "14:00:00"}]
    assert answer.json()["custom_holidays"] == [
        {"date": "2026-12-24", "name": "Eve"},
        {"date": "2026-12-31", "name": "New Year's Eve"},
    ]
    # Sent again: no change, nothing audited twice.
    events = AuditEvent.objects.count()
    assert (
        client.patch(url, answer.json() | {"name": org.calendar.name}, format="json").status_code
        == 200
    )
    assert AuditEvent.objects.count() == events
    renamed = client.patch(url, {"name": "Mine now"}, format="json")
    assert renamed.status_code == 403


def test_bad_hours_and_zones_are_400s_naming_the_field(staff, as_user, frozen):
    client = as_user(staff)
    backwards = client.post(
        "/api/v1/calendars/",
        {**CALENDAR, "hours": [{"weekday": 0, "start": "17:00:00", "end": "09:00:00"}]},
        format="json",
    )
    assert backwards.status_code == 400
    assert backwards.json()["fields"] == {
        "day_0": ["17:00-09:00: the start must come before the end."]
    }
    zone = client.post(
        "/api/v1/calendars/", {**CALENDAR, "timezone": "Mars/Olympus"}, format="json"
    )
    assert zone.status_code == 400 and set(zone.json()["fields"]) == {"timezone"}
    day = client.post(
        "/api/v1/calendars/",
        {**CALENDAR, "hours": [{"weekday": 7, "start": "09:00:00", "end": "17:00:00"}]},
        format="json",
    )
    assert day.status_code == 400 and set(day.json()["fields"]) == {"hours.0.weekday"}
    assert BusinessCalendar.objects.count() == 0


def test_a_team_keeps_its_side(org, as_user, frozen):
    client = as_user(org.sales_manager)
    url = f"/api/v1/teams/{org.sales.pk}/"
    assert client.patch(url, {"side": "marketing"}, format="json").status_code == 400
    renamed = client.patch(url, {"name": "Sales DACH", "side": "sales"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Sales DACH"
