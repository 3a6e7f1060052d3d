"""What an amendment changes: two versions' commitments compared clause by clause, as data
(for the API) and as plain sentences (for the agreement page and the emails)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from agreements.models import Commitment
from agreements.services import COMMITMENT_FIELDS
from agreements.wording import commitment_sentence


def commitments_diff(old: list[Commitment], new: list[Commitment]) -> dict:
    """What changed between two versions' commitments, matched by clause (the same promise
    across versions, even when its order changed)."""
    before = {c.clause: c for c in old}
    after = {c.clause: c for c in new}
    changed = []
    kept = sorted(before.keys() & after.keys(), key=lambda k: (after[k].kind, after[k].order))
    for clause in kept:
        a, b = before[clause], after[clause]
        changes = {
            f: {"from": getattr(a, f), "to": getattr(b, f)}
            for f in COMMITMENT_FIELDS
            if getattr(a, f) != getattr(b, f)
        }
        if changes:
            changed.append({"clause": clause, "kind": b.kind, "order": b.order, "changes": changes})

    def ordered(side: dict, keys) -> list[Commitment]:
        return sorted((side[k] for k in keys), key=lambda c: (c.kind, c.order, c.pk))

    return {
        "added": ordered(after, after.keys() - before.keys()),
        "removed": ordered(before, before.keys() - after.keys()),
        "changed": changed,
    }


@dataclass(frozen=True)
class Change:
    """One line of an amendment: `what` is added, changed or removed; `text` the promise as
    it would read (as it read, for a removal); `was` its earlier wording when changed."""

    what: str
    clause: uuid.UUID
    text: str
    was: str = ""
    moved_only: bool = False  # only its place among its kind's commitments changed


def changes_in_words(old: list[Commitment], new: list[Commitment]) -> list[Change]:
    """The amendment from `old` (the terms in force; empty for a first version) to `new`, in
    plain sentences: added, then changed (old → new), then removed."""
    diff = commitments_diff(old, new)
    before = {c.clause: c for c in old}
    after = {c.clause: c for c in new}
    lines = [Change("added", c.clause, commitment_sentence(c)) for c in diff["added"]]
    for item in diff["changed"]:
        was = commitment_sentence(before[item["clause"]])
        text = commitment_sentence(after[item["clause"]])
        lines.append(
            Change("changed", item["clause"], text, was, set(item["changes"]) == {"order"})
        )
    lines += [Change("removed", c.clause, commitment_sentence(c)) for c in diff["removed"]]
    return lines
