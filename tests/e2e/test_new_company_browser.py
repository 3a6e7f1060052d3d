"""Issue 13's walk, in a real Chromium, with nothing but the browser: on an empty database
staff runs the first-run setup and invites the marketing manager and a rep; each invitee
opens the emailed link in a browser of their own and sets a password; staff edits the
business hours, adds a holiday and an inbound source; the sales manager proposes the
template agreement and both managers sign it; marketing imports a Salesforce export and
watches a real Celery worker finish it; the rep logs a touch; the checks run as the
scheduled task runs them (with `now` past one lead's due time) and the sales manager
acknowledges the first breach on the triage page. Every page is axe-clean; screenshots go to
docs/screenshots/ for docs/dashboard.md."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from agreements.models import AgreementVersion, Team, WorkingHours
from leads import checks
from leads.models import Breach, Lead, Obligation
from tests.celery_workers import Worker, drop_queues, new_queue, producer
from tests.conftest import redis_url
from tests.e2e.conftest import assert_accessible, screenshot
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIA, SAM, RITA = "mia@growth.example", "sam@closers.example", "rita@closers.example"


def _invitation_path(email: str) -> str:
    """The link in the (last) invitation email to `email`, as a path on the live server."""
    body = [m.body for m in mail.outbox if m.to == [email]][-1]
    link = re.search(r"https?://\S+/invitations/\S+/", body).group(0)
    return "/invitations/" + link.split("/invitations/", 1)[1]


def _join(browser, live_server, email: str, *, username: str, first: str, last: str):
    """The invitee opens the emailed link in a browser of their own, sets a password, and
    logs in with it; the page they land on."""
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + _invitation_path(email))
    page.get_by_text(f"with the email {email}").wait_for()
    page.get_by_label("Username").fill(username)
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.locator("#id_password").fill(f"{username}-sign-here")
    page.locator("#id_password_again").fill(f"{username}-sign-here")
    page.get_by_role("button", name="Create my account").click()
    page.get_by_text("log in with your new password").wait_for()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"{username}-sign-here")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("domcontentloaded")
    return page


def test_a_new_company_from_an_empty_database_to_a_first_breach_acknowledged(
    open_page, browser, live_server, tmp_path
):
    assert not Team.objects.exists() and not Lead.objects.exists()
    broker, queue = redis_url(), new_queue("new-company")
    try:
        # The worker boots while the setup is done in the browser.
        with producer(broker, queue), Worker(broker, queue, tmp_path):
            _walk(open_page, browser, live_server)
    finally:
        drop_queues(broker)


def _walk(open_page, browser, live_server):
    url = live_server.url
    staff = make_user("root", is_staff=True, first_name="Ada", last_name="Admin")

    # 1. Staff: the first-run setup creates both teams and invites the sales manager.
    admin = open_page(staff)
    assert admin.url.endswith("/settings/setup/")
    admin.get_by_label("Marketing team").fill("Growth")
    admin.get_by_label("Sales team").fill("Closers")
    admin.get_by_label("Sales manager's email").fill(SAM)
    admin.get_by_role("button", name="Set up").click()
    admin.get_by_text("Growth and Closers are set up; invitations sent to " + SAM).wait_for()
    admin.get_by_role("heading", name="Version 1: draft").wait_for()

    # 2. Staff invites the other side's manager and a rep from the teams page.
    admin.goto(f"{url}/settings/teams/")
    for team, email, role in (("Growth", MIA, "Manager"), ("Closers", RITA, "Member")):
        card = admin.locator("section.card").filter(has=admin.get_by_role("heading", name=team))
        card.get_by_label("Invite by email").fill(email)
        card.get_by_label("As", exact=True).select_option(label=role)
        card.get_by_role("button", name="Send invitation").click()
        admin.get_by_text(f"Invitation sent to {email}").wait_for()
    assert "rita@closers.example (member) — link valid until" in admin.content()
    assert_accessible(admin)
    screenshot(admin, "settings-teams.png")

    # 3. Staff edits the business hours (Friday ends at 15:00), adds a holiday and an
    # inbound source.
    admin.goto(f"{url}/settings/calendars/")
    calendar = Team.objects.get(name="Closers").calendar
    admin.get_by_role("link", name=f"Edit working hours and public holidays of {calendar}").click()
    admin.get_by_label("Friday").fill("09:00-15:00")
    admin.get_by_role("button", name="Save hours").click()
    admin.get_by_text(f"Working hours of {calendar} saved.").wait_for()
    friday = WorkingHours.objects.get(calendar=calendar, weekday=4)
    assert (str(friday.start), str(friday.end)) == ("09:00:00", "15:00:00")
    admin.goto(f"{url}/settings/calendars/")
    admin.get_by_label("Date").fill("2027-12-31")
    admin.get_by_label("Name").fill("Company day off")
    admin.get_by_role("button", name="Add holiday").click()
    admin.get_by_text("Company day off").wait_for()
    assert "Friday 09:00–15:00" in admin.content()
    assert_accessible(admin)
    screenshot(admin, "settings-calendars.png")
    admin.goto(f"{url}/settings/webhook-sources/")
    admin.get_by_label("Name").fill("HubSpot")
    admin.get_by_label("Slug").fill("hubspot")
    admin.get_by_role("button", name="Add source").click()
    admin.get_by_role("heading", name="Secret of HubSpot").wait_for()
    assert "/api/v1/inbound/hubspot/" in admin.content()
    assert_accessible(admin)
    admin.goto(f"{url}/settings/webhook-sources/")  # the secret is shown once; the list stays
    admin.get_by_role("cell", name="/api/v1/inbound/hubspot/").wait_for()
    screenshot(admin, "settings-webhook-sources.png")

    # 4. The three invitees join, each in a browser of their own.
    sam = _join(browser, live_server, SAM, username="sam", first="Sam", last="Sales")
    mia = _join(browser, live_server, MIA, username="mia", first="Mia", last="Market")
    rita = _join(browser, live_server, RITA, username="rita", first="Rita", last="Rep")
    assert rita.url.endswith("/queue/")

    # 5. The sales manager proposes the template agreement; both managers sign it.
    sam.goto(f"{url}/agreements/")
    sam.get_by_text("within 15 business minutes of hand-off").first.wait_for()
    sam.get_by_role("button", name="Propose version 1 for signature").click()
    sam.get_by_text("Version 1 proposed: a manager of each side signs it next.").wait_for()
    sam.get_by_role("button", name="Sign version 1").click()
    sam.get_by_text("Signed for Sales. Waiting for the other side's manager.").wait_for()
    mia.goto(f"{url}/agreements/")
    mia.get_by_role("button", name="Sign version 1").click()
    mia.get_by_text("Signed for Marketing. Version 1 is now in force.").wait_for()
    assert "Signed for sales by Sam Sales" in mia.content()
    assert mia.title() == "Marketing–Sales SLA · SLA Hub"
    history = mia.locator("ol.history").inner_text()
    assert "sam: version signed" in history and "mia: version signed" in history
    assert_accessible(mia)
    screenshot(mia, "agreement-signed.png")
    version = AgreementVersion.objects.get()
    assert version.status == AgreementVersion.Status.ACTIVE

    # 6. Marketing imports a Salesforce export (the rep owns both rows) on the imports page.
    created = timezone.now().isoformat()  # after the signature: the new terms time them
    export = (
        "Lead ID,First Name,Last Name,Email,Company,Rating,Lead Status,Created Date,Owner Email\n"
        f"00Q1,Hanna,Schmidt,hanna@moor.example,Moorland GmbH,A,Open - Not Contacted,{created},"
        f"{RITA}\n"
        f"00Q2,Lena,Maier,lena@isar.example,Isar Digital,C,Open - Not Contacted,{created},"
        f"{RITA}\n"
    )
    mia.get_by_role("link", name="Imports").click()
    mia.get_by_label("CSV file").set_input_files(
        {"name": "leads.csv", "mimeType": "text/csv", "buffer": export.encode()}
    )
    mia.get_by_label("Salesforce Lead export").check()
    mia.get_by_label("Columns (custom mapping, or changes to the preset)").fill(
        "owner_email: Owner Email"
    )
    mia.get_by_label("Sales team").select_option(label="Closers")
    mia.get_by_role("button", name="Preview").click()
    mia.get_by_role("heading", name="Preview: leads.csv").wait_for()
    mia.get_by_role("button", name="Start import of 2 rows").click()
    mia.locator("#progress .badge-ok", has_text="Done").wait_for(timeout=60_000)
    assert "2 of 2 rows read" in mia.locator("#progress-text").inner_text()
    hanna, lena = Lead.objects.order_by("external_id")
    assert (hanna.tier, hanna.owner.username, lena.owner.username) == ("A", "rita", "rita")

    # 7. The rep logs a touch on Lena from the lead page: its first touch is met.
    rita.reload()
    rita.get_by_role("link", name="Lena Maier").click()
    rita.get_by_role("heading", name="Lena Maier").wait_for()
    rita.get_by_role("button", name="Log touch").click()
    rita.get_by_text("Call logged.").wait_for()
    screenshot(rita, "lead-touch-logged.png")
    assert lena.obligations.get(kind="first_touch").status == Obligation.Status.MET

    # 8. Nobody touched Hanna: the checks run, as the scheduled task runs them, with `now` a
    # minute past her 15 business minutes (the next working morning when it is night now).
    due = hanna.obligations.get(kind="first_touch").due_at
    assert checks.run_all(now=due + timedelta(minutes=1))
    breach = Breach.objects.get(kind="first_touch")  # (a quota month may end meanwhile)
    assert (breach.obligation.lead, breach.user.username) == (hanna, "rita")
    rita.goto(f"{url}/leads/{hanna.pk}/")  # the rep sees it on the lead
    first_touch = rita.locator("tr", has_text="Sales will make a first touch on every Tier A")
    assert "Breached" in first_touch.inner_text()

    # 9. The sales manager triages: Rita's open breaches, one note, acknowledged.
    sam.goto(f"{url}/breaches/")
    sam.locator("#id_rep").select_option(label="Rita Rep")
    sam.locator("#id_status").select_option(label="Open")
    sam.get_by_role("button", name="Filter").click()
    sam.locator("#breach-total").filter(has_text="1 breach matches").wait_for()
    assert "Hanna Schmidt" in sam.locator("main").inner_text()
    sam.get_by_role("checkbox", name="Choose breach").check()
    sam.get_by_label("One note for all of them").fill("Rita was onboarding; covered from today.")
    sam.get_by_role("button", name="Acknowledge chosen").click()
    sam.get_by_text("1 breach acknowledged.").wait_for()
    assert_accessible(sam)
    breach.refresh_from_db()
    assert (breach.status, breach.acknowledged_by.username) == ("acknowledged", "sam")
    for page in (sam, mia, rita):
        page.context.close()
