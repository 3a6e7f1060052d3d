"""The bounds of every event time on a lead, in one place.

A touch's `occurred_at`, an accept/reject/stage `at` and a hand-off's `handed_off_at`:

- lie within the supported years (2000–2999, like the reports' dates);
- are not in the future (after `now`, the moment they are recorded);
- do not precede the lead's hand-off (for a hand-off: the lead's last recorded stage
  change, e.g. the recycle before a hand-off again);
- lie no further back than the backfill window (`SLAHUB_BACKFILL_DAYS`, default 7) — unless
  a staff user gives a reason (`with backfill("…", by=user):` around the service call);
  each such backfill is recorded (`leads.models.Backfill`). Writes with no acting user
  (the demo replay, management commands) are the system's own and skip the window.

A refused time raises a ValidationError on the field, which the API answers as a 400 in its
error shape and the pages show as a form error."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings

from agreements.errors import ValidationError

MIN_YEAR, MAX_YEAR = 2000, 2999

_backfill: contextvars.ContextVar[tuple[str, object]] = contextvars.ContextVar(
    "backfill", default=("", None)
)


@contextlib.contextmanager
def backfill(reason: str | None, *, by=None) -> Iterator[None]:
    """Event times checked inside this block may lie beyond the window when the acting user
    (`by`, e.g. the staff user logging a rep's old call; else the event's user) is staff;
    `reason` is recorded with each of them."""
    token = _backfill.set(((reason or "").strip()[:300], by))
    try:
        yield
    finally:
        _backfill.reset(token)


def window() -> timedelta:
    return timedelta(days=getattr(settings, "SLAHUB_BACKFILL_DAYS", 7))


def check_supported(at: datetime | None, field: str) -> None:
    """Any time given from outside: within the supported years."""
    if at is not None and not (MIN_YEAR <= at.year <= MAX_YEAR):
        raise ValidationError({field: f"Give a time between {MIN_YEAR} and {MAX_YEAR}."})


def _earliest(lead, field: str) -> datetime | None:
    if field != "handed_off_at":
        return lead.handed_off_at
    if lead.pk is None:
        return None
    last = lead.stage_events.order_by("-occurred_at").values_list("occurred_at", flat=True)
    return last.first()


def check_event_time(
    lead, at: datetime | None, *, now: datetime, user, field: str, record: bool = True
) -> None:
    """Refuse an event time outside its bounds (see the module); `None` means `now`.
    A staff backfill is recorded unless `record` is false (a form checking ahead)."""
    backfill = event_time_backfill(lead, at, now=now, user=user, field=field)
    if backfill is not None and record:
        backfill.save()


def event_time_backfill(lead, at: datetime | None, *, now: datetime, user, field: str):
    """`check_event_time` without writing: refuses the same times, and returns the
    `Backfill` to record (unsaved) when the time is a staff backfill, else None."""
    if at is None:
        return None
    check_supported(at, field)
    if at > now:
        raise ValidationError({field: "Cannot be in the future."})
    earliest = _earliest(lead, field)
    if earliest is not None and at < earliest:
        what = "last stage change" if field == "handed_off_at" else "hand-off"
        raise ValidationError(
            {field: f"Cannot be before the lead's {what} ({earliest.isoformat()})."}
        )
    if user is None or at >= now - window():
        return None
    reason, by = _backfill.get()
    user = by or user
    if not (getattr(user, "is_staff", False) and reason):
        days = window().days
        raise ValidationError(
            {
                field: f"Cannot be more than {days} days back; staff can backfill it with "
                "a `backfill_reason`."
            }
        )
    from leads.models import Backfill

    return Backfill(
        lead=lead, field=field, occurred_at=at, recorded_at=now, user=user, reason=reason
    )
