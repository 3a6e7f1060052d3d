"""Setup without the admin, in a real Chromium: on an empty database staff runs the
first-run setup, the sales manager accepts the emailed invitation and sets a password, staff
edits the business hours (two intervals a day, with the preview), and the manager finds the
draft agreement of the template terms. Every page is axe-clean; screenshots go to
docs/screenshots/."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from agreements.models import Membership, Team, WorkingHours
from tests.e2e.conftest import assert_accessible, screenshot
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_from_an_empty_database_to_the_draft_agreement(open_page, browser, live_server):
    assert not Team.objects.exists()
    staff = make_user("root", is_staff=True, first_name="Ada", last_name="Admin")
    page = open_page(staff)
    assert page.url.endswith("/settings/setup/")  # staff lands on the setup
    page.locator("#template").wait_for()
    assert_accessible(page)
    screenshot(page, "setup.png")
    page.get_by_label("Marketing team").fill("Growth")
    page.get_by_label("Sales team").fill("Closers")
    page.get_by_label("Marketing manager's email").fill("mia@example.com")
    page.get_by_label("Sales manager's email").fill("sam@example.com")
    page.get_by_label("Public holidays of (country)").fill("DE")
    page.get_by_role("button", name="Set up").click()
    page.get_by_text("Growth and Closers are set up").wait_for()
    assert "within 15 business minutes" in page.content()

    # The sales manager follows the emailed link, in a browser of their own.
    body = next(m.body for m in mail.outbox if m.to == ["sam@example.com"])
    link = re.search(r"https?://\S+/invitations/\S+/", body).group(0)
    path = "/invitations/" + link.split("/invitations/", 1)[1]
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Berlin")
    try:
        guest = context.new_page()
        guest.goto(f"{live_server.url}{path}")
        guest.get_by_role("heading", name="Join Closers").wait_for()
        assert_accessible(guest)
        screenshot(guest, "setup-invitation.png")
        guest.get_by_label("Username").fill("sam")
        guest.get_by_label("First name").fill("Sam")
        guest.locator("#id_password").fill("closers-sign-here")
        guest.locator("#id_password_again").fill("closers-sign-here")
        guest.get_by_role("button", name="Create my account").click()
        guest.get_by_text("Welcome to Closers").wait_for()
        assert Membership.objects.get(user__username="sam").role == "manager"
        guest.goto(f"{live_server.url}{path}")
        guest.get_by_text("already been used").wait_for()  # a link works once
    finally:
        context.close()

    # Staff edits the hours: a lunch break every weekday, previewed before saving.
    calendar = Team.objects.get(name="Closers").calendar
    page.goto(f"{live_server.url}/settings/calendars/")
    page.get_by_role("link", name=f"Edit working hours and public holidays of {calendar}").click()
    for day in range(5):  # Monday to Friday
        page.locator(f"#id_day_{day}").fill("09:00-12:30, 13:30-17:00")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("Next working moments with these hours (not saved)").wait_for()
    assert WorkingHours.objects.filter(calendar=calendar).count() == 5
    page.get_by_label("Wednesday").fill("09:00-12:30, 12:00-17:00")
    page.get_by_role("button", name="Save hours").click()
    page.get_by_text("Intervals overlap around 12:00.").wait_for()  # next to Wednesday
    page.get_by_label("Wednesday").fill("09:00-12:30, 13:30-17:00")
    page.get_by_role("button", name="Save hours").click()
    page.get_by_text(f"Working hours of {calendar} saved.").wait_for()
    assert WorkingHours.objects.filter(calendar=calendar).count() == 10
    assert "–12:30" in page.locator("#preview").inner_text()
    assert_accessible(page)
    screenshot(page, "setup-hours.png")

    # The new manager finds the draft of the template terms, ready to edit and sign.
    manager_page = browser.new_context(locale="en-GB", timezone_id="Europe/Berlin").new_page()
    try:
        manager_page.goto(f"{live_server.url}/accounts/login/")
        manager_page.get_by_label("Username").fill("sam")
        manager_page.get_by_label("Password").fill("closers-sign-here")
        manager_page.get_by_role("button", name="Log in").click()
        manager_page.wait_for_load_state("domcontentloaded")
        manager_page.goto(f"{live_server.url}/agreements/")  # their one agreement opens
        manager_page.get_by_role("heading", name="Marketing–Sales SLA").first.wait_for()
        manager_page.get_by_text("within 2 working days of hand-off").first.wait_for()
        text = manager_page.content()
        assert "within 4 business hours" in text and "at least 40 SALs each month" in text
        assert_accessible(manager_page)
        screenshot(manager_page, "setup-draft-agreement.png")
    finally:
        manager_page.context.close()
