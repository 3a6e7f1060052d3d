"""New leads created in bulk (a bulk upsert, a CSV import): the same rows that
`leads.services.lead_create` and its hand-off write one lead at a time — the lead, its
hand-off stage event, its clocks, a staff backfill record, the rollup marks and the webhook
deliveries — in a constant number of queries for the whole batch.

`new_lead` decides in Python what one lead's rows are (terms, calendars and the default
sales team come from `agreements.batch`, read once per batch) and raises as the single
path would; `create` writes the rows of many. The access checks stay with the caller
(`integrations.services`), as for `lead_create`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agreements.errors import ValidationError
from agreements.models import Side
from agreements.selectors import version_in_force
from leads import bounds, clocks, events
from leads.models import LEAD_DATA_FIELDS, Backfill, Lead, Obligation, Stage, StageEvent
from leads.services import HAND_OFF_NOTE, default_sales_team
from slahub import pgcopy

# Checked by the caller (existence, side, membership) instead of one query per lead each.
RELATED = ["owner", "sales_team", "marketing_team", "agreement_version"]


@dataclass
class NewLead:
    """The rows one new lead is written as (unsaved)."""

    lead: Lead
    stage_event: StageEvent | None = None
    obligations: list[Obligation] = field(default_factory=list)
    backfill: Backfill | None = None


def new_lead(
    *,
    source_system: str,
    external_id: str,
    now: datetime,
    user=None,
    owner=None,
    sales_team=None,
    marketing_team=None,
    handed_off_at: datetime | None = None,
    **data: Any,
) -> NewLead:
    """What `lead_create` (with `handed_off_at`: and `lead_hand_off`) writes for a lead
    whose key is new, unsaved; raises the ValidationError it would."""
    lead = Lead(
        source_system=source_system,
        external_id=external_id,
        owner=owner,
        sales_team=sales_team,
        marketing_team=marketing_team,
        **{k: v for k, v in data.items() if k in LEAD_DATA_FIELDS},
    )
    lead.full_clean(exclude=RELATED, validate_unique=False, validate_constraints=False)
    for key, side in (("sales_team", Side.SALES), ("marketing_team", Side.MARKETING)):
        team = getattr(lead, key)
        if team is not None and team.side != side:
            # Never shown: the caller sends the item down the single path, which says why.
            raise ValidationError({key: "Choose a team of the right side."})
    planned = NewLead(lead)
    if handed_off_at is None:
        return planned
    at = handed_off_at
    if lead.sales_team_id is None:
        lead.sales_team = default_sales_team()
        if lead.sales_team is None:
            raise ValidationError({"sales_team": "Choose the sales team that receives the lead."})
    planned.backfill = bounds.event_time_backfill(
        lead, at, now=now, user=user, field="handed_off_at"
    )
    lead.handed_off_at = at
    lead.stage = Stage.MQL
    planned.stage_event = StageEvent(
        lead=lead,
        from_stage=Stage.NEW,
        to_stage=Stage.MQL,
        occurred_at=at,
        user=user,
        note=HAND_OFF_NOTE,
    )
    version = version_in_force(sales_team_id=lead.sales_team_id, at=at)
    lead.agreement_version = version
    if version is not None:
        planned.obligations = clocks.hand_off_clocks(lead, version, at=at)
    return planned


def create(planned: list[NewLead], *, now: datetime) -> list[Lead]:
    """Write these new leads and everything their creation records; returns the leads.
    Call inside a transaction (a duplicate key raises IntegrityError).

    Written with COPY (`slahub.pgcopy`): the leads with ids reserved from their sequence
    (their stage events, backfills and clocks name them), the other rows with their ids
    left to the table (nothing here reads them back; the instances keep `pk` None)."""
    leads = pgcopy.insert(Lead, [p.lead for p in planned], ids=True)
    pgcopy.insert(StageEvent, [p.stage_event for p in planned if p.stage_event])
    pgcopy.insert(Backfill, [p.backfill for p in planned if p.backfill])
    pgcopy.insert(Obligation, [o for p in planned for o in p.obligations])
    handed_off = [lead for lead in leads if lead.handed_off_at is not None]
    if handed_off:
        events.leads_changed((lead.pk for lead in handed_off), new=True)
        events.leads_handed_off(handed_off, now=now)
    return leads
