"""Template helpers for clocks: time left in words, a clock's state, percentages."""

from __future__ import annotations

import re
from datetime import datetime

from django import template

from agreements.wording import commitment_sentence

register = template.Library()


def humanize_seconds(seconds: float) -> str:
    """3725 → '1h 2m'; the same words the live countdown (static/js/app.js) uses."""
    s = abs(round(seconds))
    days, hours = divmod(s, 86400)[0], (s % 86400) // 3600
    minutes, secs = (s % 3600) // 60, s % 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


@register.simple_tag
def time_left(due_at: datetime, now: datetime) -> str:
    seconds = (due_at - now).total_seconds()
    if seconds < 0:
        return f"overdue by {humanize_seconds(seconds)}"
    return f"{humanize_seconds(seconds)} left"


@register.simple_tag
def age(since: datetime | None, now: datetime) -> str:
    """How long ago `since` was, e.g. '2d 4h'."""
    return "—" if since is None else humanize_seconds((now - since).total_seconds())


@register.simple_tag
def clock_state(obligation, now: datetime) -> str:
    """open / warning / overdue for a running clock; 'owed' for a missed clock whose touch
    or decision is still owed; otherwise its status."""
    if obligation.status in ("breached", "waived") and obligation.done_at is None:
        return "owed"
    if obligation.status != "open":
        return obligation.status
    if obligation.due_at <= now:
        return "overdue"
    if obligation.warn_at and obligation.warn_at <= now:
        return "warning"
    return "open"


@register.filter
def clock_name(obligation) -> str:
    name = obligation.get_kind_display()
    return f"{name} #{obligation.attempt}" if obligation.kind == "follow_up" else name


@register.filter
def sentence(commitment) -> str:
    return commitment_sentence(commitment)


@register.filter
def pct(value) -> str:
    return "—" if value is None else f"{value:.0f}%"


@register.filter
def person(user, empty: str = "—") -> str:
    """A user's full name, else their username; `empty` for nobody."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()


@register.filter
def tel(number: str) -> str:
    """A phone number as a tap-to-call URI (RFC 3966): '+49 (30) 123-4567' → 'tel:+49301234567'.
    Spaces, brackets, dots and dashes are dropped; an extension ('x12', 'ext. 12') is kept as
    ';ext=12'. Empty when no digit is left."""
    text = (number or "").strip()
    extension = ""
    match = re.search(r"\s*(?:ext\.?|x|#)\s*(\d+)\s*$", text, flags=re.IGNORECASE)
    if match:
        extension, text = match.group(1), text[: match.start()]
    digits = re.sub(r"[^\d]", "", text)
    if not digits:
        return ""
    prefix = "+" if text.startswith(("+", "00")) else ""
    if text.startswith("00"):
        digits = digits[2:]
    return f"tel:{prefix}{digits}" + (f";ext={extension}" if extension else "")
