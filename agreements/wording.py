"""Commitments and durations in plain words, the same on pages, in emails and reports."""

from __future__ import annotations

from typing import Any

from agreements.businesstime import ClockDuration

_UNITS = [(86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")]


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def duration_words(text: str, clock: str = "calendar") -> str:
    """'PT15M' on a business clock → '15 business minutes'; 'P2D' → '2 working days'."""
    duration = ClockDuration.parse(text)
    business = clock == "business"
    parts = []
    if duration.days:
        parts.append(_plural(duration.days, "working day" if business else "day"))
    rest = duration.seconds
    for size, unit in _UNITS[1:]:
        if rest >= size:
            amount, rest = divmod(rest, size)
            parts.append(_plural(amount, f"business {unit}" if business else unit))
    return " and ".join(parts) or "no time"


def _or(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def lead_scope(applies_to: dict[str, Any] | None) -> str:
    """'every Tier A lead from Webinar' for {"tier": ["A"], "lead_source": ["Webinar"]}."""
    applies_to = applies_to or {}

    def values(key: str) -> list[str]:
        value = applies_to.get(key)
        return [value] if isinstance(value, str) else list(value or [])

    words = "every"
    if values("tier"):
        words += f" Tier {_or(values('tier'))}"
    words += " lead"
    if values("lead_source"):
        words += f" from {_or(values('lead_source'))}"
    if values("campaign"):
        words += f" of campaign {_or(values('campaign'))}"
    if values("country"):
        words += f" in {_or(values('country'))}"
    if applies_to.get("min_score") is not None:
        words += f" scoring {applies_to['min_score']} or more"
    return words


def commitment_sentence(commitment) -> str:
    """The promise as one sentence, e.g. 'Sales will make a first touch on every Tier A lead
    within 15 business minutes of hand-off.'"""
    c = commitment
    scope = lead_scope(c.applies_to)
    if c.kind == "first_touch":
        return (
            f"Sales will make a first touch on {scope} within "
            f"{duration_words(c.within, c.clock)} of hand-off."
        )
    if c.kind == "follow_up":
        return (
            f"Sales will try {scope} {_plural(c.attempts, 'time')} in all, each attempt within "
            f"{duration_words(c.every, c.clock)} of the previous one, until the lead is reached."
        )
    if c.kind == "disposition":
        return (
            f"Sales will accept or reject {scope} within {duration_words(c.within, c.clock)} "
            "of hand-off."
        )
    if c.kind == "lead_volume":
        return f"Marketing will deliver at least {c.target} {c.stage.upper()}s each {c.period}" + (
            "." if not c.applies_to else f" ({scope})."
        )
    if c.kind == "lead_quality":
        return (
            f"Marketing will keep at least {c.min_acceptance_pct}% of the leads sales "
            f"disposition each {c.period} accepted (judged from {c.min_sample} dispositions)."
        )
    return str(c)
