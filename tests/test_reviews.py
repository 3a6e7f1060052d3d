"""The monthly review: the managers hold it on a day they choose, its agenda is the month's
review pack, its action items show on their owners' home pages until done, and its record is
printable and emailed to both teams (through the alerts outbox and a real SMTP server)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from agreements import goals as goal_services
from agreements import reviews
from agreements.models import ActionItem, Review
from alerts import delivery
from audit.models import AuditEvent
from tests.factories import make_first_touch_breach
from tests.test_alerts_smtp import smtp  # noqa: F401 - the SMTP sink fixture

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def held(org):
    """A first-touch breach of the rep's on Mon 23 Nov (make_first_touch_breach), a goal of
    one SAL a month, and a review of November held on Fri 27 Nov."""
    breach = make_first_touch_breach(org)
    goal_services.goal_create(
        agreement=org.agreement,
        user=org.marketing_manager,
        name="One SAL a month",
        metric="sal_count",
        target=Decimal("1"),
        period="month",
        starts_on=date(2026, 11, 1),
        owner=org.marketing_manager,
    )
    review = reviews.review_create(
        agreement=org.agreement,
        user=org.sales_manager,
        now=NOW,
        held_on=date(2026, 11, 27),
        month=date(2026, 11, 1),
    )
    return org, review, breach


def test_the_month_defaults_to_the_one_before_the_meeting(org):
    review = reviews.review_create(
        agreement=org.agreement, user=org.marketing_manager, now=NOW, held_on=date(2026, 12, 3)
    )
    assert review.month == date(2026, 11, 1)


def test_managers_of_either_side_hold_reviews_members_do_not(held, client):
    org, _, _ = held
    Review.objects.all().delete()
    url = reverse("review-list", args=[org.agreement.pk])
    client.force_login(org.marketer)
    assert client.post(url, {"held_on": "2026-12-03"}).status_code == 403
    client.force_login(org.marketing_manager)
    with time_machine.travel(NOW, tick=False):
        answer = client.post(url, {"held_on": "2026-12-03", "month": "2026-11"})
    review = Review.objects.get()
    assert answer["Location"] == reverse("review-detail", args=[review.pk])
    assert (review.month, review.held_on, review.created_by) == (
        date(2026, 11, 1),
        date(2026, 12, 3),
        org.marketing_manager,
    )
    assert AuditEvent.objects.filter(action="review.create", actor=org.marketing_manager).exists()
    client.force_login(User.objects.create_user("stranger", password="pw"))
    assert client.get(reverse("review-detail", args=[review.pk])).status_code == 404


def test_an_action_item_shows_on_its_owners_home_until_done(held, client):
    org, review, _ = held
    client.force_login(org.sales_manager)
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            reverse("action-item-add", args=[review.pk]),
            {
                "text": "Call back every Tier A lead the same day",
                "owner": org.rep.pk,
                "due_on": "2026-12-04",
            },  # fmt: skip
        )
    assert answer.status_code == 302
    item = ActionItem.objects.get()

    client.force_login(org.rep)
    queue = client.get(reverse("queue")).content.decode()
    assert "Your action items from reviews" in queue
    assert "Call back every Tier A lead the same day" in queue
    assert "due Fri 4 Dec 2026" in queue
    client.force_login(org.rep2)  # not his
    assert "Call back every Tier A lead" not in client.get(reverse("queue")).content.decode()
    assert client.post(reverse("action-item-done", args=[item.pk])).status_code == 403

    client.force_login(org.rep)
    with time_machine.travel(NOW, tick=False):
        done = client.post(reverse("action-item-done", args=[item.pk]))
    assert done.status_code == 302
    item.refresh_from_db()
    assert (item.done_at, item.done_by) == (NOW, org.rep)
    assert "Your action items from reviews" not in client.get(reverse("queue")).content.decode()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="action_item")] == [
        "action_item.done",
        "action_item.add",
    ]


def test_an_action_item_shows_on_a_managers_home_too(held, client):
    org, review, _ = held
    reviews.action_item_add(
        review=review,
        user=org.sales_manager,
        text="Bring the November webinar list",
        owner=org.marketing_manager,
        due_on=date(2026, 12, 1),
    )
    client.force_login(org.marketing_manager)
    with time_machine.travel(NOW, tick=False):
        home = client.get(reverse("marketing-home")).content.decode()
    assert "Bring the November webinar list" in home


def test_an_action_item_goes_to_someone_of_the_two_teams(held):
    from django.core.exceptions import ValidationError

    org, review, _ = held
    with pytest.raises(ValidationError):
        reviews.action_item_add(
            review=review,
            user=org.sales_manager,
            text="x",
            owner=User.objects.create_user("outsider"),
            due_on=date(2026, 12, 1),
        )


def test_the_agenda_is_the_review_pack(held, client, django_assert_max_num_queries):
    org, review, _ = held
    client.force_login(org.marketing_manager)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(36):
        page = client.get(reverse("review-detail", args=[review.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    # The breach of Mon 23 Nov, by cause: sales, first touch, 1 in all, open.
    assert "<td>Sales</td><td>First touch</td><td>1</td><td>1</td>" in html
    assert "No contested rejection awaits a decision." in html
    assert "One SAL a month</a>: 0 against a target of 1 this month" in html
    assert "Version 2" not in html and "No amendment is drafted or proposed." in html


def test_the_record_is_printable(held, client, django_assert_max_num_queries):
    org, review, _ = held
    reviews.review_notes_set(review=review, user=org.sales_manager, notes="Tier A is the worry.")
    reviews.action_item_add(
        review=review, user=org.sales_manager, text="Coach the rep", owner=org.sales_manager,
        due_on=date(2026, 12, 2),
    )  # fmt: skip
    client.force_login(org.rep)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(36):
        page = client.get(reverse("review-print", args=[review.pk]))
    html = page.content.decode()
    assert "Joint review of Marketing ↔ Sales — November 2026" in html
    assert "Tier A is the worry." in html
    assert "<strong>Coach the rep</strong> — sales_manager, due Wed 2 Dec 2026" in html
    assert "agreements/together.css" in html  # its print stylesheet


def test_the_record_reaches_both_teams_by_email(held, smtp):  # noqa: F811
    inbox, _, _ = smtp
    org, review, _ = held
    reviews.review_notes_set(review=review, user=org.sales_manager, notes="Tier A is the worry.")
    reviews.action_item_add(
        review=review, user=org.sales_manager, text="Call back Tier A the same day",
        owner=org.rep, due_on=date(2026, 12, 4),
    )  # fmt: skip
    assert reviews.review_send(review=review, user=org.sales_manager, now=NOW) == 5
    delivery.deliver_pending(now=NOW)
    # The breach's own alerts (rep, sales manager) go out too; the record to all five.
    records = [m for m in inbox.messages if m["Subject"].strip().startswith("Review of")]
    assert sorted(m["To"] for m in records) == [
        "marketer@example.com",
        "marketing_manager@example.com",
        "rep2@example.com",
        "rep@example.com",
        "sales_manager@example.com",
    ]
    message = records[0]
    assert message["Subject"].strip() == (
        "Review of Marketing ↔ Sales for November 2026: notes and action items"
    )
    text = message.get_body(("plain",)).get_content()
    assert "sales_manager sends the record of the joint review" in text
    assert "Tier A is the worry." in text
    assert "- Call back Tier A the same day — rep, due Fri 04 Dec 2026" in text
    assert "- Breaches in November 2026: sales first_touch 1" in text
    assert '- Goal "One SAL a month": 0.0 against a target of 1.0' in text
    assert f"https://slahub.example/reviews/{review.pk}/print/" in text
    review.refresh_from_db()
    assert review.sent_at == NOW


def test_only_managers_write_the_review(held, client):
    org, review, _ = held
    client.force_login(org.rep)
    add = reverse("action-item-add", args=[review.pk])
    item = {"text": "Mine", "owner": org.rep.pk, "due_on": "2026-12-04"}
    assert client.post(add, item).status_code == 403
    assert client.post(reverse("review-notes", args=[review.pk]), {"notes": "x"}).status_code == 403
    assert client.post(reverse("review-send", args=[review.pk])).status_code == 403
    page = client.get(reverse("review-detail", args=[review.pk])).content.decode()
    assert "Add the action item" not in page and "Email the record" not in page
    assert not ActionItem.objects.exists() and Review.objects.get().notes == ""
