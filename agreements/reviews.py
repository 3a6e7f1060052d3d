"""Writes for joint reviews (docs/agreements.md, "Monthly review"): a manager of either side
schedules one for a month on a day both choose, writes its notes and action items, and
emails its record to both teams (the alerts outbox: one row per recipient, written in the
same transaction, delivered after). An action item's owner marks it done. All audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction

import audit
from agreements import access
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import ActionItem, Agreement, Membership, Review
from slahub.limits import TEXT_MAX


def _teams(agreement: Agreement) -> list[int]:
    return [agreement.marketing_team_id, agreement.sales_team_id]


@transaction.atomic
def review_create(
    *, agreement: Agreement, user, now: datetime, held_on: date, month: date | None = None
) -> Review:
    """A review of `month` (default: the month before the meeting, the last full one)."""
    access.require_agreement_manager(user, agreement)
    if month is None:
        month = (held_on.replace(day=1) - timedelta(days=1)).replace(day=1)
    review = Review(
        agreement=agreement,
        month=month.replace(day=1),
        held_on=held_on,
        created_by=user,
        created_at=now,
    )
    review.full_clean()
    review.save()
    audit.record(
        "review.create",
        review,
        user=user,
        changes={"month": review.month, "held_on": held_on},
        teams=_teams(agreement),
    )
    return review


@transaction.atomic
def review_notes_set(*, review: Review, user, notes: str) -> Review:
    access.require_agreement_manager(user, review.agreement)
    if len(notes) > TEXT_MAX:
        raise ValidationError({"notes": f"At most {TEXT_MAX} characters."})
    review.notes = notes
    review.full_clean()
    review.save(update_fields=["notes"])
    audit.record("review.notes", review, user=user, teams=_teams(review.agreement))
    return review


@transaction.atomic
def action_item_add(*, review: Review, user, text: str, owner, due_on: date) -> ActionItem:
    access.require_agreement_manager(user, review.agreement)
    access.require_action_item_owner(review.agreement, owner)
    item = ActionItem(review=review, text=text.strip(), owner=owner, due_on=due_on)
    item.full_clean()
    item.save()
    audit.record(
        "action_item.add",
        item,
        user=user,
        changes={"text": item.text, "owner": owner.get_username(), "due_on": due_on},
        teams=_teams(review.agreement),
    )
    return item


@transaction.atomic
def action_item_done(*, item: ActionItem, user, now: datetime) -> ActionItem:
    """Mark the item done (once: a second click changes nothing)."""
    if not access.can_finish_action_item(user, item):
        raise PermissionDenied("Only its owner or a manager of either side marks it done.")
    if item.done_at is None:
        item.done_at, item.done_by = now, user
        item.save(update_fields=["done_at", "done_by"])
        audit.record("action_item.done", item, user=user, teams=_teams(item.review.agreement))
    return item


@transaction.atomic
def review_send(*, review: Review, user, now: datetime) -> int:
    """Queue the review's record for every member of both teams; returns how many emails
    were queued. Sending again later queues a fresh copy (the record may have changed)."""
    from alerts.content import absolute, person, render
    from alerts.services import Notice, queue
    from reports.review_pack import review_agenda

    agreement = review.agreement
    access.require_agreement_manager(user, agreement)
    user_ids = list(
        Membership.objects.filter(team_id__in=_teams(agreement))
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    agenda = review_agenda(agreement, month=review.month, now=now)
    items = list(review.action_items.select_related("owner").order_by("due_on", "id"))
    context = {
        "agreement": agreement.name,
        "month": f"{review.month:%B %Y}",
        "held_on": f"{review.held_on:%a %d %b %Y}",
        "sender": person(user),
        "notes": review.notes,
        "breaches": [
            {"side": row["side"], "kind": row["kind"], "total": row["total"]}
            for row in agenda.pack.breach_rows
        ],
        "disputes": agenda.pack.disputes_open,
        "contests": len(agenda.contests),
        "goals": [
            {
                "name": g.goal.name,
                "value": g.value,
                "target": g.target,
                "unit": g.metric.unit if g.metric else "",
            }
            for g in agenda.goals
        ],
        "amendments": [f"version {v.number} ({v.get_status_display()})" for v in agenda.amendments],
        "items": [
            {
                "text": i.text,
                "owner": person(i.owner),
                "due_on": f"{i.due_on:%a %d %b %Y}",
                "done": i.done_at is not None,
            }
            for i in items
        ],
        "url": absolute("review-print", review.pk),
    }

    def build(recipient, tz):
        return render("review", {"recipient_name": person(recipient), **context})

    count = queue(
        [
            Notice(
                event="review",
                key=f"review:{review.pk}:{now.isoformat()}",
                user_ids=user_ids,
                build=build,
            )
        ],
        now=now,
    )
    review.sent_at = now
    review.save(update_fields=["sent_at"])
    audit.record(
        "review.send", review, user=user, changes={"emails": count}, teams=_teams(agreement)
    )
    return count
