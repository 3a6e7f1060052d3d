"""Template helpers for clocks: time left in words, a clock's state, percentages."""

from __future__ import annotations

import re
from datetime import datetime

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html

from agreements.wording import commitment_sentence

register = template.Library()

# A lead id no real lead has, reversed in place of one and then replaced by the real id.
_PK_STANDIN = "8675309001"
_PK_URLS: dict[tuple, str] = {}


@register.simple_tag
def pk_url(name: str, pk: int) -> str:
    """`{% url name pk %}` for a URL whose one argument is an integer id, reversed once per
    name (and URLconf, script prefix) and the id put in its place: a page listing many rows
    (the queue) otherwise spends much of its time reversing the same patterns."""
    key = (name, settings.ROOT_URLCONF, get_urlconf(), get_script_prefix())
    pattern = _PK_URLS.get(key)
    if pattern is None:
        pattern = _PK_URLS[key] = reverse(name, args=[int(_PK_STANDIN)])
    return pattern.replace(_PK_STANDIN, str(int(pk)))


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


@register.simple_tag(takes_context=True)
def row_form_fields(context, row: str, next_url: str) -> str:
    """The hidden fields every action form of a list row sends (CSRF token, the row kind, where
    to go back), built once per page render and reused by each of its rows' forms."""
    cache = context.render_context.dicts[0]  # the page's render, not one include's
    key = ("row_form_fields", row, next_url)
    if key not in cache:
        token = context.get("csrf_token")
        csrf = (
            format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
            if token and token != "NOTPROVIDED"  # as {% csrf_token %}
            else ""
        )
        cache[key] = format_html(
            '{}<input type="hidden" name="row" value="{}">'
            '<input type="hidden" name="next" value="{}">',
            csrf,
            row,
            next_url,
        )
    return cache[key]


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
