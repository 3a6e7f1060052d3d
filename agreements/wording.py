"""Commitments and durations in plain words, the same on pages, in emails and reports."""

from __future__ import annotations

from typing import Any

from agreements.businesstime import ClockDuration

_UNITS = [(86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")]


def plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


_plural = plural


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
    within 15 business minutes of hand-off.' Each kind's sentence is its entry in
    `agreements.kinds`."""
    from agreements.kinds import KINDS

    spec = KINDS.get(commitment.kind)
    return spec.sentence(commitment) if spec else str(commitment)
