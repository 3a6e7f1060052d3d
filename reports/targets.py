"""The one rule behind every pass/fail colour: a figure is kept when it reaches its target,
and it is shown so that a figure below its target never reads as the target itself.

Sales clock kinds (first touch, follow-up, disposition) have no target in the agreement's
terms; they are judged against `SALES_TARGET_PCT`. Marketing's commitments carry their own
(the quota's `target`, the acceptance floor `min_acceptance_pct`). Pure: no Django imports.
"""

from __future__ import annotations

SALES_TARGET_PCT = 80  # share of a sales clock kind's due clocks met on time


def kept(value: float | None, target: float | None) -> bool | None:
    """True when `value` reaches `target`, False below it, None when either is unknown."""
    if value is None or target is None:
        return None
    return value >= target


def shown_pct(value: float | None, target: float | None = None) -> str:
    """A percentage as a whole number ('83%'), with one decimal when rounding would carry it
    onto the other side of its target: 79.5 → '79.5%' against 80 (not '80%'), 80.0 → '80%'."""
    if value is None:
        return "—"
    whole = f"{value:.0f}"
    if target is not None and kept(float(whole), target) != kept(value, target):
        return f"{value:.1f}%"
    return f"{whole}%"
