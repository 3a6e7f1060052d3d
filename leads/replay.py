"""A lead's recorded history played again through the clock rules, in memory.

The what-if replay asks "what would these terms have meant for what really happened?". It
takes each lead's own events (its hand-off, touches, acceptance or rejection, conversion or
close, each at its own time) and applies them, in time order, with the very building blocks
the services use (`clocks.hand_off_clocks`, `clocks.build_obligation`, `clocks.min_gap`,
`clocks.attempt_numbers`, `clocks.next_attempt`), in the order the services apply them:

- every event first misses what fell due before it (`clocks.breach_overdue`): a clock due
  before its touch is missed at its due time;
- a touch that counts as attempt n meets the open first-touch and attempt clocks up to n,
  a connected touch stops the cadence, otherwise attempt n+1 starts `every` after it
  (`services.activity_log`);
- an acceptance, rejection or conversion meets the disposition clock; a rejection,
  conversion or close stops the rest (`lead_accept`, `lead_reject`, `lead_set_stage`).

Nothing is saved: the clocks come back as unsaved `Obligation` rows for the caller to count
(the replay counts them with the reports' own queries, on a private copy of the table).
A test replays a hand-built history under the terms in force and finds the clocks the
services recorded for it, so the two cannot drift apart unseen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agreements.models import AgreementVersion, Commitment
from leads import clocks
from leads.models import CLOSED_STAGES, CONVERTED_STAGES, Lead, Obligation, Stage

Kind = Commitment.Kind
Status = Obligation.Status
TOUCH_KINDS = (Kind.FIRST_TOUCH, Kind.FOLLOW_UP)

# Event kinds, and their order when two happen at the same moment (a touch logged at the
# moment of the decision was made before it).
TOUCH, ACCEPT, REJECT, CONVERT, CLOSE = "touch", "accept", "reject", "convert", "close"
_ORDER = {TOUCH: 0, ACCEPT: 1, REJECT: 1, CONVERT: 2, CLOSE: 2}


@dataclass
class LeadHistory:
    """What happened to one lead after its (last) hand-off, each event at its own time."""

    lead: Lead
    touches: list[tuple[datetime, int, bool]] = field(default_factory=list)  # at, id, connected
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    stage_changes: list[tuple[datetime, str]] = field(default_factory=list)  # at, to stage

    def events(self) -> list[tuple[datetime, int, str, tuple]]:
        rows: list[tuple[datetime, int, str, tuple]] = [
            (at, _ORDER[TOUCH], TOUCH, (pk, connected)) for at, pk, connected in self.touches
        ]
        if self.accepted_at:
            rows.append((self.accepted_at, _ORDER[ACCEPT], ACCEPT, ()))
        if self.rejected_at:
            rows.append((self.rejected_at, _ORDER[REJECT], REJECT, ()))
        for at, stage in self.stage_changes:
            if stage in CONVERTED_STAGES:
                rows.append((at, _ORDER[CONVERT], CONVERT, ()))
            elif stage in CLOSED_STAGES and stage != Stage.REJECTED:
                rows.append((at, _ORDER[CLOSE], CLOSE, ()))
        return sorted(rows, key=lambda row: (row[0], row[1]))


def _miss_overdue(running: list[Obligation], *, before: datetime) -> None:
    for o in running:
        if o.status == Status.OPEN and o.due_at < before:
            o.status = Status.BREACHED


def _stop(running: list[Obligation], kinds, *, at: datetime) -> None:
    for o in running:
        if o.status == Status.OPEN and o.kind in kinds:
            o.status, o.done_at = Status.CANCELLED, at


def _meet(o: Obligation, at: datetime) -> None:
    o.status, o.met_at, o.done_at = Status.MET, at, at


def replay_lead(history: LeadHistory, version: AgreementVersion) -> list[Obligation]:
    """The clocks `history` would have run under `version` (unsaved, with their outcome)."""
    lead = history.lead
    start = lead.handed_off_at
    running = clocks.hand_off_clocks(lead, version, at=start)
    follow_up = clocks.matching_commitments(lead, version).get(Kind.FOLLOW_UP)
    gap = clocks.min_gap(follow_up)
    touches = [(at, pk) for at, pk, _ in history.touches if at >= start]
    attempts = clocks.attempt_numbers(touches, gap)
    worked = True  # not yet rejected, converted or closed (the cadence goes on)
    for at, _, kind, extra in history.events():
        if at < start:
            continue
        _miss_overdue(running, before=at)
        if kind == TOUCH:
            pk, connected = extra
            attempt = attempts.get(pk)
            if attempt is not None:
                for o in running:
                    if o.status == Status.OPEN and o.kind in TOUCH_KINDS and o.attempt <= attempt:
                        _meet(o, at)
            if connected:
                _stop(running, TOUCH_KINDS, at=at)
                continue
            following = clocks.next_attempt(follow_up, attempt) if worked else None
            already_open = any(
                o.status == Status.OPEN and o.kind == Kind.FOLLOW_UP for o in running
            )
            if following is not None and not already_open:
                running.append(
                    clocks.build_obligation(
                        lead=lead,
                        commitment=follow_up,
                        duration=follow_up.every,
                        start=at,
                        attempt=following,
                        calendar=clocks.lead_calendar(lead, version, around=at),
                    )
                )
            continue
        if kind in (ACCEPT, REJECT, CONVERT):
            for o in running:
                if o.status == Status.OPEN and o.kind == Kind.DISPOSITION:
                    _meet(o, at)
        if kind in (REJECT, CONVERT, CLOSE):
            _stop(running, clocks.LEAD_KINDS, at=at)
            worked = False
    return running
