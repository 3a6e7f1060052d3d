"""What the CRM adapters hand to the sync engine: records in one vendor-neutral shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


class ConnectorError(Exception):
    """The CRM refused or failed in a way a retry will not fix; the message is for the
    sync log (it never contains a credential)."""


@dataclass
class LeadRecord:
    id: str
    modified: datetime
    data: dict = field(default_factory=dict)  # name, email, company, title, phone, country
    crm_stage: str = ""
    owner_email: str = ""
    stage_at: datetime | None = None  # when the CRM says it reached `crm_stage`
    handoff_at: datetime | None = None  # when it became a marketing-qualified lead
    deleted: bool = False


@dataclass
class TouchRecord:
    id: str
    modified: datetime
    kind: str  # call / email / meeting
    outcome: str  # attempted / connected
    occurred_at: datetime | None
    lead_ids: list[str] = field(default_factory=list)
    owner_email: str = ""
    note: str = ""
    skip: str = ""  # why this record is not a touch (e.g. an incoming email)
    deleted: bool = False


@dataclass
class DealRecord:
    id: str
    modified: datetime
    name: str = ""
    crm_stage: str = ""
    amount: Decimal | None = None
    closed_at: datetime | None = None
    stage_at: datetime | None = None  # when the CRM changed its stage (default: closed_at)
    lead_ids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Page:
    """One page of one object type, and the object's cursor state after applying it."""

    object_type: str
    records: list = field(default_factory=list)
    state: dict = field(default_factory=dict)
    done: bool = True  # no further page of this object type in this pass
