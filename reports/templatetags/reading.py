"""How pages read: times with their zone, names that link to their page, and figures
coloured against their target by the one rule in reports/targets.py."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from django import template
from django.utils import dateformat
from django.utils.html import format_html
from django.utils.timezone import template_localtime

from reports import tables, targets

register = template.Library()


@register.filter
def zoned(value: datetime | None, fmt: str = "D j M H:i") -> str:
    """A moment in the zone the page shows, with that zone's name: 'Mon 3 Nov 14:05 CET'
    (UTC for someone without a team, so no one reads a shifted time as their own)."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return dateformat.format(value, fmt)
    # As the `date` filter does: a value passed through the `timezone` filter keeps its zone.
    return dateformat.format(template_localtime(value), f"{fmt} T")


@register.simple_tag
def rep_url(user_id: int, first_day: date | None = None, last_day: date | None = None) -> str:
    """The compliance report filtered to one rep (over `first_day`‥`last_day` when given)."""
    url = tables.rep_url(user_id)
    if first_day and last_day:
        url += f"&{urlencode({'start': first_day.isoformat(), 'end': last_day.isoformat()})}"
    return url


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


@register.simple_tag
def rep_link(user, first_day: date | None = None, last_day: date | None = None, empty="—"):
    """A rep's name linking to their compliance; `empty` for nobody."""
    if user is None:
        return empty
    return format_html('<a href="{}">{}</a>', rep_url(user.pk, first_day, last_day), _name(user))


@register.simple_tag
def judged(
    value: float | None, target: float | None = targets.SALES_TARGET_PCT, *, big: bool = False
):
    """A percentage against its target: red below it ('79.5%' against 80), plain when kept;
    `big` for a headline figure (red text, not a badge)."""
    text = targets.shown_pct(value, target)
    if targets.kept(value, target) is False:
        return format_html(
            '<span class="{}" title="Below the target of {}%">{}</span>',
            "figure-bad" if big else "badge badge-bad",
            f"{target:g}",
            text,
        )
    return text


@register.filter
def below_target(value: float | None, target: float | None = targets.SALES_TARGET_PCT) -> bool:
    return targets.kept(value, target) is False


@register.simple_tag
def sales_target() -> int:
    return targets.SALES_TARGET_PCT
