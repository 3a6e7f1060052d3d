"""Issue 15's walk in Chromium, as docs/agreements.md tells it (and the screenshots it
shows), each manager in a browser context of their own: sales' manager drafts version 2
and works out marketing's quota with the calculator; proposed with a date, marketing's
manager is prompted on her home page and by email (a real SMTP server); both comment on
the changed term; she replays last month under the proposal on a real Celery worker; both
sign; version 2 comes into force on its date (the scheduled check, with its `now`); then
the monthly review gives the rep an action item that his home page shows until done.
Every page axe-clean."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements import services
from agreements.models import ActionItem, AgreementVersion, ReplayRun, Review, TermComment
from alerts import delivery
from leads.models import Lead
from tests.celery_workers import Worker, drop_queues, new_queue, producer
from tests.conftest import redis_url
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.demo import demo_org
from tests.test_alerts_smtp import smtp  # noqa: F401 - the real SMTP server (aiosmtpd)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")


def test_two_managers_amend_replay_sign_and_review(open_page, smtp, tmp_path):  # noqa: F811
    inbox, _, _ = smtp
    now = timezone.now()
    org, _ = demo_org(now)
    detail = reverse("agreement-detail", args=[org.agreement.pk])

    # Sales' manager drafts version 2 and tightens the Tier A first touch.
    sales = open_page(org.sales_manager)
    base = sales.url.split("/team/")[0]
    sales.goto(base + detail)
    sales.get_by_label("What changes, and why").fill("A quota from the revenue goal")
    sales.get_by_role("button", name="Draft a new version").click()
    sales.get_by_role("status").get_by_text("Version 2 drafted").wait_for()
    draft = org.agreement.versions.get(number=2)
    services.commitment_update(
        commitment=draft.commitments.get(kind="first_touch", order=0), within="PT2H"
    )

    # The quota calculator: 600,000 a month, half from marketing's deals of 10,000 → 30 won;
    # ÷ 25% → 120 SQLs; ÷ 40% → 300 SALs (the demo's quota counts SALs); ÷ 60% → 500 MQLs.
    sales.goto(base + detail)
    sales.get_by_role("link", name="Work out marketing's lead-volume target").click()
    sales.get_by_role("heading", name="Quota calculator").wait_for()
    assert "Rates prefilled from the closed-loop funnel" in sales.content()
    for label, value in [
        ("Revenue goal:", "600000"),
        ("Share from marketing-sourced deals (%):", "50"),
        ("Average won deal:", "10000"),
        ("SQL → won (%):", "25"),
        ("SAL → SQL (%):", "40"),
        ("MQL → SAL (%):", "60"),
    ]:
        sales.get_by_label(label, exact=True).fill(value)
    sales.get_by_label("For:", exact=True).select_option("month")
    sales.get_by_role("button", name="Work it out").click()
    sales.get_by_role("button", name="Put 300 SALs a month into version 2").wait_for()
    assert_accessible(sales)
    screenshot(sales, "agreement-quota-calculator.png")
    sales.get_by_role("button", name="Put 300 SALs a month into version 2").click()
    sales.get_by_role("status").get_by_text("Version 2 now asks marketing for 300 SALs").wait_for()
    assert draft.commitments.get(kind="lead_volume").target == 300

    # Proposed to come into force tomorrow (00:00 in the agreement's time zone).
    tomorrow = now.astimezone(BERLIN).date() + timedelta(days=1)
    sales.get_by_label("In force from").fill(tomorrow.isoformat())
    sales.get_by_role("button", name="Propose version 2 for signature").click()
    sales.get_by_role("status").get_by_text("Version 2 proposed").wait_for()
    assert_accessible(sales)
    screenshot(sales, "agreement-draft-diff.png")

    # Marketing's manager is told, reads the diff and the calculator's comment, answers, signs.
    marketing = open_page(org.marketing_manager)
    marketing.get_by_text("was proposed and waits for your side").wait_for()
    assert_accessible(marketing)
    screenshot(marketing, "agreement-proposal-notice.png")
    delivery.deliver_pending(now=now + timedelta(days=1))  # past any quiet hours
    [mail] = [m for m in inbox.messages if "Your signature: version 2 of" in m["Subject"]]
    assert mail["To"] == org.marketing_manager.email
    text = mail.get_body(("plain",)).get_content()
    assert "Marketing will deliver at least 300 SALs each month." in text
    assert "#pending-version" in text
    marketing.get_by_role("link", name=f"version 2 of {org.agreement.name}").click()
    change = marketing.locator("li.change", has_text="Quota calculator: 300 SALs a month.")
    change.get_by_text("Comment on this term").click()
    change.get_by_label("Your comment").fill("300 SALs is within reach if the webinar runs.")
    change.get_by_role("button", name="Add comment").click()
    marketing.get_by_role("status").get_by_text("Comment added.").wait_for()
    assert TermComment.objects.filter(version=draft).count() == 2
    assert_accessible(marketing)
    screenshot(marketing, "agreement-term-comments.png")

    # Sales' manager answers on the same term: both sides' comments under it.
    sales.goto(base + detail)
    change = sales.locator("li.change", has_text="Quota calculator: 300 SALs a month.")
    change.get_by_text("Comment on this term").click()
    change.get_by_label("Your comment").fill("We will run it twice: agreed.")
    change.get_by_role("button", name="Add comment").click()
    sales.get_by_role("status").get_by_text("Comment added.").wait_for()
    assert change.get_by_text("300 SALs is within reach if the webinar runs.").is_visible()
    assert set(TermComment.objects.filter(version=draft).values_list("author", flat=True)) == {
        org.sales_manager.pk,
        org.marketing_manager.pk,
    }

    # Before signing, marketing replays the last month (to yesterday) under the proposal.
    marketing.goto(base + detail)
    marketing.get_by_role("link", name="What if? Replay last quarter under version 2").click()
    marketing.get_by_role("heading", name="What if version 2 had been in force?").wait_for()
    today = now.astimezone(BERLIN).date()
    first, last = today - timedelta(days=30), today - timedelta(days=1)
    start = datetime.combine(first, time(0), tzinfo=BERLIN)
    end = datetime.combine(today, time(0), tzinfo=BERLIN)
    handed_off = Lead.objects.filter(
        sales_team_id=org.agreement.sales_team_id, handed_off_at__gte=start, handed_off_at__lt=end
    ).count()
    broker, queue = redis_url(), new_queue("walk-replay")
    try:
        with producer(broker, queue), Worker(broker, queue, tmp_path):
            marketing.get_by_text("Choose another window").click()
            marketing.get_by_label("First day").fill(first.isoformat())
            marketing.get_by_label("Last day").fill(last.isoformat())
            marketing.get_by_role("button", name="Replay this window").click()
            marketing.locator("#replay-run .badge-ok", has_text="Done").wait_for(timeout=60_000)
    finally:
        drop_queues(broker)
    assert marketing.locator("#replay-run progress").get_attribute("value") == "100"
    lead_word = "lead" if handed_off == 1 else "leads"
    marketing.get_by_text(f"{handed_off} {lead_word} handed off in the window.").wait_for()
    assert marketing.locator("#replay-compliance").get_by_role("row").count() > 1
    run = ReplayRun.objects.get(version=draft)
    assert (run.status, run.window_start, run.window_end) == ("done", start, end)
    assert (
        AgreementVersion.objects.get(pk=draft.pk).status == "proposed"
    )  # replaying changes nothing

    # Both sign: marketing first; it activates only with sales' signature too.
    marketing.goto(base + detail)
    marketing.get_by_role("button", name="Sign version 2").click()
    marketing.get_by_role("status").get_by_text("Waiting for the other side's manager").wait_for()
    assert AgreementVersion.objects.get(pk=draft.pk).status == "proposed"

    # Sales signs: scheduled for tomorrow; on that date the check puts it in force.
    sales.goto(base + detail)
    sales.get_by_role("button", name="Sign version 2").click()
    sales.get_by_role("status").get_by_text("Version 2 comes into force on").wait_for()
    assert AgreementVersion.objects.get(pk=draft.pk).status == "scheduled"
    midnight = datetime.combine(tomorrow, time(0, 1), tzinfo=BERLIN)
    assert services.agreement_versions_activate_due(now=midnight - timedelta(minutes=2)) == 0
    assert services.agreement_versions_activate_due(now=midnight) == 1
    sales.goto(base + detail)
    sales.get_by_text("Version 2, in force since").wait_for()
    assert "Marketing will deliver at least 300 SALs each month." in sales.content()
    assert_accessible(sales)
    screenshot(sales, "agreement-in-force.png")
    marketing.goto(base + detail)
    marketing.get_by_text("Version 2, in force since").wait_for()

    # The monthly review: sales' manager holds it; an action item for the rep.
    review_list = base + reverse("review-list", args=[org.agreement.pk])
    sales.goto(review_list)
    assert_accessible(sales)
    sales.get_by_label("Meeting date").fill(today.isoformat())
    sales.get_by_role("button", name="Schedule the review").click()
    sales.get_by_text("Review scheduled.").wait_for()
    assert_accessible(sales)
    sales.get_by_label("Notes:", exact=True).fill("Version 2 is in force: 300 SALs a month.")
    sales.get_by_role("button", name="Save the notes").click()
    sales.get_by_text("Notes saved.").wait_for()
    sales.get_by_label("Action:", exact=True).fill("Clear Monday's Tier A leads by noon")
    sales.get_by_label("Owner:", exact=True).select_option(label=org.rep.username)
    sales.get_by_label("Due:", exact=True).fill(today.isoformat())
    sales.get_by_role("button", name="Add the action item").click()
    sales.get_by_text("Action item added.").wait_for()
    screenshot(sales, "review.png")
    review = Review.objects.get(agreement=org.agreement)
    assert review.action_items.get().owner == org.rep
    sales.goto(base + reverse("review-print", args=[review.pk]))
    assert "Clear Monday's Tier A leads by noon" in sales.content()
    assert_accessible(sales)

    # Marketing's manager sees the same review; the rep's home shows his item until done.
    marketing.goto(review_list)
    marketing.locator("li", has_text="held on").get_by_text("1 action item").wait_for()
    rep = open_page(org.rep)
    items = rep.get_by_role("region", name="Your action items from reviews")
    items.get_by_text("Clear Monday's Tier A leads by noon").wait_for()
    assert_accessible(rep)
    items.get_by_role("button", name="Mark done").click()
    rep.get_by_text("Done: Clear Monday's Tier A leads by noon").wait_for()
    assert rep.get_by_role("region", name="Your action items from reviews").count() == 0
    assert ActionItem.objects.get().done_by == org.rep
