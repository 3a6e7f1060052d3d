"""In a real Chromium, axe-clean at every step: a sales manager filters the breach inbox to
one rep's open breaches and acknowledges two with one note; marketing's manager contests a
rejection from the lead page; the sales manager returns the lead to its rep from the
contested-rejections tab, and marketing sees the decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leads import checks, services
from leads.models import Breach
from tests.e2e.conftest import assert_accessible, screenshot
from tests.factories import LONG_AGO, activate, add_commitment, make_lead, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    now = timezone.now()
    org = make_org(now=now)
    org.rep.first_name, org.rep.last_name = "Rita", "Rep"
    org.rep.save()
    add_commitment(org.version, "first_touch", within="PT1H", clock="calendar")
    activate(org, now=LONG_AGO)
    handed = now - timedelta(hours=3)
    for i, owner in enumerate([org.rep, org.rep, org.rep2]):
        make_lead(org, now=handed, handed_off_at=handed, name=f"Late lead {i}", owner=owner)
    checks.deadline_scan(now=now)
    rejected = make_lead(org, now=now, handed_off_at=now, name="Disputed lead", owner=org.rep)
    services.lead_reject(lead=rejected, reason="Bad fit", now=now)
    return org, rejected


def test_triage_then_contest_and_return(world, open_page, live_server):
    org, lead = world
    page = open_page(org.sales_manager)
    page.goto(f"{live_server.url}/breaches/")
    page.locator("#id_rep").select_option(label="Rita Rep")
    page.locator("#id_status").select_option(label="Open")
    page.get_by_role("button", name="Filter").click()
    page.locator("#breach-total").filter(has_text="2 breaches match").wait_for()
    assert_accessible(page)
    for box in page.get_by_role("checkbox", name="Choose breach").all():
        box.check()
    page.get_by_label("One note for all of them").fill("Both were during the team offsite")
    screenshot(page, "breach-triage.png")
    page.get_by_role("button", name="Acknowledge chosen").click()
    page.get_by_text("2 breaches acknowledged.").wait_for()
    assert_accessible(page)
    assert set(Breach.objects.filter(status="acknowledged").values_list("user", flat=True)) == {
        org.rep.pk
    }

    marketing = open_page(org.marketing_manager)
    marketing.goto(f"{live_server.url}/leads/{lead.pk}/")
    marketing.get_by_label("Why the rejection is wrong").fill("They booked a demo yesterday.")
    marketing.get_by_role("button", name="Contest the rejection").click()
    marketing.get_by_text("Rejection contested: the sales managers decide.").wait_for()
    assert_accessible(marketing)

    page.goto(f"{live_server.url}/breaches/contests/")
    page.get_by_text("1 to decide").wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="Decide", exact=True).click()
    page.get_by_label("Returned to the rep").check()
    page.locator("#contest_note").fill("Call them back today.")
    page.get_by_role("button", name="Decide", exact=True).click()
    page.get_by_text("Lead returned to the rep: its clocks run again.").wait_for()
    assert_accessible(page)
    screenshot(page, "contest-returned.png")

    marketing.reload()
    marketing.locator('[data-decision="returned"]').wait_for()
    assert "Call them back today." in marketing.content()
