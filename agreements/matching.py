"""Which commitment applies to a lead: `applies_to` filters, first match wins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

LIST_FIELDS = ("tier", "lead_source", "country", "campaign")
ALLOWED_KEYS = (*LIST_FIELDS, "min_score")


def validate_applies_to(applies_to: Any) -> None:
    """Raise ValueError unless `applies_to` is a well-formed filter."""
    if applies_to in (None, ""):
        return
    if not isinstance(applies_to, Mapping):
        raise ValueError('Must be an object such as {"tier": ["A"]}.')
    unknown = sorted(set(applies_to) - set(ALLOWED_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown field(s) {', '.join(unknown)}; allowed: {', '.join(ALLOWED_KEYS)}."
        )
    for key in LIST_FIELDS:
        value = applies_to.get(key)
        if value is None:
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"{key} must be a string or a list of strings.")
    score = applies_to.get("min_score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise ValueError("min_score must be a number.")


def matches(applies_to: Mapping[str, Any] | None, lead: Mapping[str, Any]) -> bool:
    """True when every condition of the filter holds for the lead's fields.

    List conditions compare case-insensitively; an empty filter matches every lead.
    """
    if not applies_to:
        return True
    for key in LIST_FIELDS:
        wanted = applies_to.get(key)
        if wanted is None:
            continue
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if str(lead.get(key) or "").casefold() not in {w.casefold() for w in wanted}:
            return False
    min_score = applies_to.get("min_score")
    return min_score is None or (lead.get("score") or 0) >= min_score


class _HasFilter(Protocol):
    kind: str
    applies_to: Any


C = TypeVar("C", bound=_HasFilter)


def first_matches(commitments: Iterable[C], lead: Mapping[str, Any]) -> dict[str, C]:
    """Per kind, the first commitment (in the given order) whose filter matches the lead."""
    chosen: dict[str, C] = {}
    for commitment in commitments:
        if commitment.kind not in chosen and matches(commitment.applies_to, lead):
            chosen[commitment.kind] = commitment
    return chosen


def shadowed(commitments: Iterable[C]) -> list[C]:
    """The commitments (in the given order) that can never apply: one that matches every
    lead comes before them in their kind."""
    catch_all: set[str] = set()
    hidden = []
    for commitment in commitments:
        if commitment.kind in catch_all:
            hidden.append(commitment)
        elif not commitment.applies_to:
            catch_all.add(commitment.kind)
    return hidden
