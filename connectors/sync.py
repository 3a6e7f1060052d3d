"""The sync engine: pull each object type page by page from the stored cursor, apply the
page (leads, touches, deals/stages) and advance the cursor in one transaction, then write
each lead's SLA state back into the CRM.

Crash safety: a run holds its connector with a lease (a conditional UPDATE, like the CSV
imports). The network is read outside any transaction; a page's writes, its log rows and
the cursor after it commit together, so a run killed mid-page leaves nothing of that page
and the next run fetches exactly it again. Every write is keyed by the CRM id (leads by
(source_system, external_id), touches likewise, deals by (connector, external_id)), so a
page applied twice changes nothing the second time."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Min, OuterRef, Q

from agreements.errors import PermissionDenied, ValidationError
from connectors.models import Connector, Deal, SyncRun, SyncSkip, WrittenState
from connectors.records import ConnectorError, DealRecord, LeadRecord, Page, TouchRecord
from integrations import services as integration_services
from integrations.csv_mapping import country_code
from leads import services as lead_services
from leads.models import FUNNEL, Lead, Obligation, Stage

log = logging.getLogger("slahub.connectors")

LEASE = timedelta(minutes=10)
WRITEBACK_FIELDS = {
    "first_touch_due": "First touch due (UTC, ISO 8601)",
    "sla_status": "SLA status (due, met, missed)",
}


def adapter_for(connector: Connector, **kwargs):
    """The vendor adapter for a connector, with its unsealed credentials."""
    from connectors import crypto

    secrets = crypto.unseal(connector.credentials)
    if connector.kind == Connector.Kind.HUBSPOT:
        from connectors.hubspot import API_BASE, HubSpotAdapter

        return HubSpotAdapter(
            token=secrets.get("token", ""),
            api_base=connector.settings.get("api_base") or API_BASE,
            **kwargs,
        )
    from connectors.salesforce import SalesforceAdapter

    return SalesforceAdapter(connector=connector, secrets=secrets, **kwargs)


# Runs ---------------------------------------------------------------------------------------


def run_claim(*, run: SyncRun, now: datetime) -> str | None:
    """Hold the run's connector (its lease free or expired); the claim token, or None."""
    token = uuid.uuid4().hex
    claimed = (
        Connector.objects.filter(pk=run.connector_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(claim_token=token, lease_until=now + LEASE)
    )
    return token if claimed else None


def sync_run(
    *,
    run_id: int,
    clock: Callable[[], datetime],
    adapter=None,
    max_pages: int | None = None,
) -> SyncRun:
    """Run (or resume) a sync: pages from the stored cursor until every object type is
    read (or `max_pages`), then the write-back. `clock` gives each page's `now`."""
    run = SyncRun.objects.select_related("connector", "connector__run_as").get(pk=run_id)
    if run.status in (SyncRun.Status.DONE, SyncRun.Status.FAILED):
        return run
    now = clock()
    token = run_claim(run=run, now=now)
    if token is None:
        return run  # another run holds the connector; this one waits its turn
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.RUNNING, started_at=run.started_at or now
    )
    connector = run.connector
    mine = Connector.objects.filter(pk=connector.pk, claim_token=token)
    try:
        adapter = adapter or adapter_for(connector)
        finished = _pull(connector, run, adapter, mine, clock=clock, max_pages=max_pages)
        if finished:
            written = write_back(connector=connector, adapter=adapter, now=clock(), run=run)
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.DONE, finished_at=clock(), written_back=written
            )
    except ConnectorError as exc:
        log.warning("connector %s: sync %s failed: %s", connector.kind, run.pk, exc)
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.FAILED, finished_at=clock(), error=str(exc)[:500]
        )
    finally:
        mine.update(lease_until=None, claim_token="")
    run.refresh_from_db()
    return run


def _pull(connector, run, adapter, mine, *, clock, max_pages) -> bool:
    """Pages until all object types are read (True) or `max_pages` is reached (False)."""
    pages = 0
    while True:
        connector.refresh_from_db(fields=["cursor"])
        cursor = connector.cursor or {}
        phase = cursor.get("phase", 0)
        if phase >= len(adapter.objects):
            mine.update(cursor={**cursor, "phase": 0})
            return True
        if max_pages is not None and pages >= max_pages:
            return False
        object_type = adapter.objects[phase]
        states = cursor.get("objects", {})
        page = adapter.pull(object_type, states.get(object_type, {}))
        now = clock()
        new_cursor = {
            "phase": phase + 1 if page.done else phase,
            "objects": {**states, object_type: page.state},
        }
        with transaction.atomic():
            counts, skips = apply_page(connector=connector, page=page, now=now)
            SyncSkip.objects.bulk_create(
                SyncSkip(run=run, object_type=object_type, external_id=pk[:100], reason=why[:300])
                for pk, why in skips
            )
            SyncRun.objects.filter(pk=run.pk).update(
                pages=F("pages") + 1,
                fetched=F("fetched") + len(page.records),
                created=F("created") + counts["created"],
                updated=F("updated") + counts["updated"],
                skipped=F("skipped") + len(skips),
            )
            progressed = mine.filter(cursor=cursor).update(
                cursor=new_cursor, lease_until=now + LEASE
            )
            if not progressed:  # the lease was lost to another run: undo this page
                transaction.set_rollback(True)
        if not progressed:
            raise ConnectorError("Another sync took over this connector; this run stopped.")
        pages += 1


def sync_request(*, connector: Connector, user, now: datetime) -> SyncRun:
    """'Sync now': a queued run (the one already waiting, if any); the caller enqueues it."""
    from agreements import access

    access.require(access.can_configure_connectors(user), "Only staff and managers sync.")
    waiting = connector.runs.filter(
        status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
    ).first()
    if waiting is not None:
        return waiting
    return SyncRun.objects.create(connector=connector, requested_by=user, created_at=now)


def runs_due(*, now: datetime, every: timedelta) -> list[int]:
    """Beat: the runs to start now — one per enabled connector whose last run is older than
    `every` (recorded here), plus queued runs and running ones whose worker died."""
    due = []
    for connector in Connector.objects.filter(enabled=True):
        open_run = connector.runs.filter(
            status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        ).first()
        if open_run is not None:
            if open_run.status == SyncRun.Status.QUEUED or not (
                connector.lease_until and connector.lease_until > now
            ):
                due.append(open_run.pk)
            continue
        last = connector.runs.order_by("-created_at").first()
        if last is None or last.created_at <= now - every:
            due.append(SyncRun.objects.create(connector=connector, created_at=now).pk)
    return due


# Applying a page ----------------------------------------------------------------------------


def apply_page(
    *, connector: Connector, page: Page, now: datetime
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Apply one page's records; returns the counts and the (CRM id, reason) of each skip."""
    counts = {"created": 0, "updated": 0}
    skips: list[tuple[str, str]] = []
    leads = [r for r in page.records if isinstance(r, LeadRecord)]
    touches = [r for r in page.records if isinstance(r, TouchRecord)]
    deals = [r for r in page.records if isinstance(r, DealRecord)]
    if leads:
        _apply_leads(connector, leads, now, counts, skips)
    if touches:
        _apply_touches(connector, touches, now, counts, skips)
    if deals:
        _apply_deals(connector, deals, now, counts, skips)
    return counts, skips


def _members_by_email(connector: Connector, emails) -> dict[str, object]:
    emails = {e.lower() for e in emails if e}
    if not emails:
        return {}
    users = get_user_model().objects.filter(
        is_active=True, memberships__team_id=connector.sales_team_id
    )
    found = {}
    for user in users.filter(email__in=[e for e in emails]).order_by("pk"):
        found.setdefault(user.email.lower(), user)
    if len(found) < len(emails):  # CRM addresses may differ from ours in case only
        for user in users.exclude(email="").order_by("pk"):
            if user.email.lower() in emails:
                found.setdefault(user.email.lower(), user)
    return found


def _stage_of(connector: Connector, crm_stage: str) -> str:
    stage = (connector.settings.get("stage_map") or {}).get(crm_stage, "")
    return stage if stage in Stage.values else ""


def moves_forward(current: str, stage: str) -> bool:
    """Whether a CRM stage moves the lead on: along the funnel, or to a close; never back
    (a contact still marked 'lead' in the CRM does not undo the won deal)."""
    if not stage or stage == current or stage == Stage.NEW:
        return False
    if current in (Stage.WON, Stage.LOST, Stage.REJECTED):
        return False
    if stage in FUNNEL and current in FUNNEL:
        return FUNNEL.index(stage) > FUNNEL.index(current)
    return True


def _error_text(errors: dict) -> str:
    return "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())


def _apply_leads(connector, records, now, counts, skips) -> None:
    source = connector.kind
    owners = _members_by_email(connector, [r.owner_email for r in records])
    existing = {
        lead.external_id: lead
        for lead in Lead.objects.filter(
            source_system=source, external_id__in=[r.id for r in records]
        )
    }
    items, kept = [], []
    for record in records:
        if record.deleted:
            skips.append((record.id, f"Deleted in {connector.get_kind_display()}."))
            continue
        data = {k: v for k, v in record.data.items() if k in lead_services.LEAD_DATA_FIELDS}
        if "country" in data:
            data["country"] = country_code(data["country"]) or ""
        data |= {
            "source_system": source,
            "external_id": record.id,
            "sales_team": connector.sales_team,
            "marketing_team": connector.marketing_team,
        }
        if record.owner_email.lower() in owners:
            data["owner"] = owners[record.owner_email.lower()]
        lead = existing.get(record.id)
        if record.handoff_at and (lead is None or lead.handed_off_at is None):
            data["handed_off_at"] = min(record.handoff_at, now)
        items.append({"data": data})
        kept.append(record)
    results = integration_services.lead_upsert_many(items, now=now, user=connector.run_as)
    for record, result in zip(kept, results, strict=True):
        if result["result"] == "error":
            skips.append((record.id, _error_text(result["errors"])))
            continue
        changed = result["result"] != "unchanged"
        stage = _stage_of(connector, record.crm_stage)
        lead = result["lead"]
        if moves_forward(lead.stage, stage):
            try:
                _set_stage(connector, lead, stage, at=record.stage_at, now=now)
                changed = True
            except (ValidationError, PermissionDenied) as exc:
                skips.append((record.id, f"Stage {record.crm_stage!r} not applied: {_msg(exc)}"))
        if result["result"] == "created":
            counts["created"] += 1
        elif changed:
            counts["updated"] += 1


def _msg(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return _error_text(integration_services.error_messages(exc))
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


def _set_stage(connector, lead, stage, *, at, now) -> None:
    at = min(at or now, now)
    with transaction.atomic():
        if stage == Stage.REJECTED:
            lead_services.lead_reject(
                lead=lead, reason="Rejected in the CRM", now=now, user=connector.run_as, at=at
            )
        else:
            lead_services.lead_set_stage(
                lead=lead, stage=stage, now=now, user=connector.run_as, at=at
            )


def _leads_by_crm_id(connector, records) -> dict[str, Lead]:
    ids = {pk for r in records for pk in r.lead_ids}
    if not ids:
        return {}
    return {
        lead.external_id: lead
        for lead in Lead.objects.filter(source_system=connector.kind, external_id__in=ids)
    }


def _first_lead(record, leads) -> Lead | None:
    return next((leads[pk] for pk in record.lead_ids if pk in leads), None)


def _apply_touches(connector, records, now, counts, skips) -> None:
    from leads.models import Activity

    leads = _leads_by_crm_id(connector, records)
    owners = _members_by_email(connector, [r.owner_email for r in records])
    known = set(
        Activity.objects.filter(
            source_system=connector.kind, external_id__in=[r.id for r in records]
        ).values_list("external_id", flat=True)
    )
    name = connector.get_kind_display()
    for record in records:
        if record.id in known:
            continue
        if record.deleted:
            skips.append((record.id, f"Deleted in {name}."))
            continue
        if record.skip:
            skips.append((record.id, record.skip))
            continue
        lead = _first_lead(record, leads)
        if lead is None:
            skips.append((record.id, f"Not linked to a lead synced from {name}."))
            continue
        if record.occurred_at is None:
            skips.append((record.id, "It has no time."))
            continue
        data = {
            "kind": record.kind,
            "outcome": record.outcome,
            "occurred_at": record.occurred_at,
            "note": record.note[:1000],
            "source_system": connector.kind,
            "external_id": record.id,
            "user": owners.get(record.owner_email.lower()),
        }
        try:
            with transaction.atomic():
                result, _ = integration_services.activity_upsert(
                    lead=lead, data=data, now=now, user=connector.run_as
                )
        except (ValidationError, PermissionDenied, IntegrityError) as exc:
            skips.append((record.id, _msg(exc)))
            continue
        if result == "created":
            counts["created"] += 1


def _apply_deals(connector, records, now, counts, skips) -> None:
    leads = _leads_by_crm_id(connector, records)
    existing = {
        d.external_id: d
        for d in Deal.objects.filter(connector=connector, external_id__in=[r.id for r in records])
    }
    name = connector.get_kind_display()
    for record in records:
        if record.deleted:
            skips.append((record.id, f"Deleted in {name}."))
            continue
        lead = _first_lead(record, leads)
        if lead is None:
            skips.append((record.id, f"Not linked to a lead synced from {name}."))
            continue
        values = {
            "lead": lead,
            "name": record.name[:200],
            "crm_stage": record.crm_stage[:100],
            "amount": record.amount,
            "closed_at": record.closed_at,
        }
        deal = existing.get(record.id)
        if deal is None:
            Deal.objects.create(
                connector=connector, external_id=record.id, updated_at=now, **values
            )
            counts["created"] += 1
        elif any(getattr(deal, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(deal, key, value)
            deal.updated_at = now
            deal.save()
            counts["updated"] += 1
        stage = _stage_of(connector, record.crm_stage)
        if moves_forward(lead.stage, stage):
            at = record.stage_at or (
                record.closed_at if stage in (Stage.WON, Stage.LOST) else record.modified
            )
            try:
                _set_stage(connector, lead, stage, at=at, now=now)
            except (ValidationError, PermissionDenied) as exc:
                skips.append((record.id, f"Stage {record.crm_stage!r} not applied: {_msg(exc)}"))


# Write-back ---------------------------------------------------------------------------------


def sla_states(*, connector: Connector, now: datetime) -> dict[int, tuple[str, dict[str, str]]]:
    """lead id → (CRM id, {"first_touch_due", "sla_status"}) for the connector's leads that
    have clocks: 'missed' once any clock was missed (or is past due), 'due' while one runs,
    'met' when all were kept."""
    owed = Obligation.objects.filter(lead=OuterRef("pk"))
    open_ = owed.filter(status=Obligation.Status.OPEN)
    leads = (
        Lead.objects.filter(source_system=connector.kind)
        .filter(Exists(owed))
        .annotate(
            first_due=Min(
                "obligations__due_at",
                filter=Q(obligations__status="open", obligations__kind="first_touch"),
            ),
            missed=Exists(
                owed.filter(
                    Q(status=Obligation.Status.BREACHED)
                    | Q(status=Obligation.Status.OPEN, due_at__lte=now)
                )
            ),
            running=Exists(open_),
        )
        .values_list("pk", "external_id", "first_due", "missed", "running")
    )
    states = {}
    for pk, external_id, first_due, missed, running in leads:
        status = "missed" if missed else "due" if running else "met"
        due = first_due.isoformat().replace("+00:00", "Z") if first_due else ""
        states[pk] = (external_id, {"first_touch_due": due, "sla_status": status})
    return states


def write_back(*, connector: Connector, adapter, now: datetime, run: SyncRun | None = None) -> int:
    """Send the SLA state of each lead whose state changed since the last write into the
    CRM fields chosen on the page; returns how many leads were written. A lead the CRM
    refuses is logged as a skip of the run and sent again next time."""
    fields = {k: v for k, v in (connector.settings.get("writeback") or {}).items() if v}
    fields = {k: v for k, v in fields.items() if k in WRITEBACK_FIELDS}
    if not fields:
        return 0
    states = sla_states(connector=connector, now=now)
    written = {
        w.lead_id: w
        for w in WrittenState.objects.filter(connector=connector, lead_id__in=list(states))
    }
    updates, changed, crm_ids = [], [], {}
    for lead_id, (external_id, values) in states.items():
        values = {k: v for k, v in values.items() if k in fields}
        previous = written.get(lead_id)
        if previous is not None and previous.values == values:
            continue
        updates.append((external_id, {fields[k]: v for k, v in values.items()}))
        changed.append(WrittenState(connector=connector, lead_id=lead_id, values=values))
        crm_ids[lead_id] = external_id
    if not updates:
        return 0
    refused = dict(adapter.write_back(updates))
    if refused and run is not None:
        SyncSkip.objects.bulk_create(
            SyncSkip(run=run, object_type="write-back", external_id=pk[:100], reason=why[:300])
            for pk, why in refused.items()
        )
        SyncRun.objects.filter(pk=run.pk).update(skipped=F("skipped") + len(refused))
    changed = [w for w in changed if crm_ids[w.lead_id] not in refused]
    WrittenState.objects.bulk_create(
        changed,
        update_conflicts=True,
        unique_fields=["connector", "lead"],
        update_fields=["values"],
    )
    return len(changed)
