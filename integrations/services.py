"""Writes for other tools: API tokens, upserts keyed by (source_system, external_id),
CSV imports, inbound webhook events and webhook subscriptions.

Clock-moving changes always go through `leads.services` (hand-off, stage, touch, reassign);
the upserts here only decide which of those to call."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q

import audit
from agreements import access
from agreements.batch import batch
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import Agreement, Membership, Team
from integrations.models import (
    ApiToken,
    Import,
    ImportRow,
    InboundEvent,
    WebhookSource,
    WebhookSubscription,
    new_secret,
)
from leads import bounds
from leads import events as lead_events
from leads import ingest as lead_ingest
from leads import services as lead_services
from leads.models import Activity, Lead, Stage

TOKEN_PREFIX_LENGTH = 8

# API tokens -----------------------------------------------------------------------------


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with the raw key, which is never stored."""
    from django.utils import timezone

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token (e.g. the tool that will use it)."})
    raw_key = secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name[:100],
        prefix=raw_key[:TOKEN_PREFIX_LENGTH],
        key_hash=hash_key(raw_key),
        created_at=timezone.now(),
    )
    token.full_clean()
    token.save()
    audit.record("api_token.create", token, changes={"name": token.name, "owner": user.pk})
    return token, raw_key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, now: datetime) -> None:
    if token.revoked_at is None:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        audit.record("api_token.revoke", token, changes={"name": token.name})


def api_token_authenticate(*, raw_key: str, now: datetime) -> ApiToken | None:
    """The active token with this key (its user loaded), noting when it was last used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# Who may write for which team -----------------------------------------------------------


teams_visible_to = access.teams_visible_to


def _member_of(user: AbstractBaseUser, team_id: int | None) -> bool:
    if user is None or getattr(user, "is_staff", False):
        return True
    return team_id is not None and Membership.objects.filter(user=user, team_id=team_id).exists()


def require_member(user: AbstractBaseUser, team_id: int | None, message: str) -> None:
    if not _member_of(user, team_id):
        raise PermissionDenied(message)


# Lead upsert ----------------------------------------------------------------------------

RESULT_CREATED, RESULT_UPDATED, RESULT_UNCHANGED = "created", "updated", "unchanged"


def _apply_stage(lead: Lead, data: dict, *, now: datetime, user) -> Lead:
    stage = data["stage"]
    if stage == Stage.REJECTED:
        return lead_services.lead_reject(
            lead=lead, reason=data.get("rejection_reason", ""), now=now, user=user
        )
    return lead_services.lead_set_stage(lead=lead, stage=stage, now=now, user=user)


def _default_marketing_team(data: dict, *, user) -> None:
    """A new lead that names no marketing team gets its creator's one (access rule)."""
    if user is not None and "marketing_team" not in data:
        team = access.default_marketing_team(user)
        if team is not None:
            data["marketing_team"] = team


def _check_routing(data: dict, *, user) -> None:
    """A caller may only route leads to teams it can see, one of them its own."""
    if user is None:
        return
    access.require_routing(
        user, sales_team=data.get("sales_team"), marketing_team=data.get("marketing_team")
    )


def _resolve_owner(data: dict, sales_team) -> None:
    """`owner_email` (or else `owner_name`) names a member of the lead's sales team (never a
    hint about others)."""
    email, name = data.pop("owner_email", None), data.pop("owner_name", None)
    if email:
        data["owner"] = access.owner_by_email(email, sales_team=sales_team)
    elif name:
        data["owner"] = access.owner_by_name(name, sales_team=sales_team)


@transaction.atomic
def lead_upsert(*, data: dict[str, Any], now: datetime, user=None) -> tuple[str, Lead]:
    """Create or update the lead keyed by (source_system, external_id) from the fields given.

    Only the keys present in `data` are applied; a hand-off and a stage change go through
    the lead services (in that order), so the clocks move exactly as for single writes.
    Returns ("created" | "updated" | "unchanged", lead). Sending the same data twice
    changes nothing the second time."""
    source_system = data.get("source_system") or "api"
    external_id = data["external_id"]
    lead = (
        Lead.objects.select_for_update()
        .filter(source_system=source_system, external_id=external_id)
        .first()
    )
    data = dict(data)
    fields = {k: data[k] for k in lead_services.LEAD_DATA_FIELDS if k in data}
    if lead is None:
        _default_marketing_team(data, user=user)
        _check_routing(data, user=user)
        _resolve_owner(data, data.get("sales_team"))
        access.require_owner(data.get("sales_team"), data.get("owner"))
        lead = lead_services.lead_create(
            source_system=source_system,
            external_id=external_id,
            now=now,
            user=user,
            owner=data.get("owner"),
            sales_team=data.get("sales_team"),
            marketing_team=data.get("marketing_team"),
            handed_off_at=data.get("handed_off_at"),
            **fields,
        )
        if data.get("stage") and data["stage"] != lead.stage:
            if user is not None:
                access.require_stage_change(user, lead, data["stage"], creating=True)
            lead = _apply_stage(lead, data, now=now, user=user)
        return RESULT_CREATED, lead

    if user is not None and not access.leads_visible_to(user).filter(pk=lead.pk).exists():
        raise ValidationError({"external_id": "A lead with this key belongs to another team."})
    changed = False
    fields = {k: v for k, v in fields.items() if getattr(lead, k) != v}
    if user is not None and (
        fields
        or any(
            key in data and getattr(lead, f"{key}_id") != getattr(data[key], "pk", None)
            for key in ("sales_team", "marketing_team")
        )
        or (data.get("handed_off_at") and lead.handed_off_at != data["handed_off_at"])
    ):
        access.require(access.can_edit_lead(user, lead), "Only the lead's teams change it.")
    if fields:
        lead = lead_services.lead_update(lead=lead, data=fields)
        changed = True
    for key in ("sales_team", "marketing_team"):
        if key in data and getattr(lead, f"{key}_id") != getattr(data[key], "pk", None):
            if key == "sales_team" and lead.handed_off_at and lead.stage != Stage.RECYCLED:
                raise ValidationError({key: "A handed-off lead cannot move to another team."})
            _check_routing({key: data[key]}, user=None if data[key] is None else user)
            setattr(lead, key, data[key])
            lead.save(update_fields=[key, "updated_at"])
            lead_events.leads_changed([lead.pk])
            changed = True
    _resolve_owner(data, lead.sales_team)
    if "owner" in data and lead.owner_id != getattr(data["owner"], "pk", None):
        if user is not None:
            access.require(access.can_manage_lead(user, lead), "Only a sales manager reassigns.")
        access.require_owner(lead.sales_team, data["owner"])
        lead = lead_services.lead_reassign(lead=lead, owner=data["owner"], now=now, user=user)
        changed = True
    handed_off_at = data.get("handed_off_at")
    if handed_off_at is not None and lead.handed_off_at != handed_off_at:
        lead_services.lead_hand_off(lead=lead, at=handed_off_at, now=now, user=user)
        changed = True
    if data.get("stage") and data["stage"] != lead.stage:
        if user is not None:
            access.require_stage_change(user, lead, data["stage"])
        lead = _apply_stage(lead, data, now=now, user=user)
        changed = True
    return (RESULT_UPDATED if changed else RESULT_UNCHANGED), lead


def error_messages(exc: ValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as {field: [messages]} ("non_field_errors" for the rest)."""
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): [str(m) for e in v for m in e.messages]
            for k, v in exc.error_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


BULK_CHUNK = 500  # new leads written per bulk insert (one transaction each)


def lead_upsert_many(
    items: list[dict[str, Any]], *, now: datetime, user=None
) -> list[dict[str, Any]]:
    """Upsert many items; a bad item is reported, the others are kept.

    New keys go in chunks of BULK_CHUNK through `leads.ingest`: one read of the existing
    keys, the routing and owner checks once per distinct team and owner, then the leads,
    their stage events, clocks, rollup marks and webhook deliveries written together in one
    savepoint per chunk, in a constant number of queries. Updates, a key sent twice, and
    items the bulk path does not take whole (a check that fails, a stage to set after the
    creation) go one by one through `lead_upsert`, each in its own savepoint, after the new
    leads of their chunk; they answer exactly as before.

    Items may carry pre-validation errors under "errors" (from the serializer); those are
    reported as they are. Returns one {"result", "lead", "errors"} per item, in order."""
    results: list[dict[str, Any]] = [{}] * len(items)
    with batch():  # terms and calendars looked up once for all items
        checks = _Checks(user)
        for start in range(0, len(items), BULK_CHUNK):
            chunk = range(start, min(start + BULK_CHUNK, len(items)))
            _upsert_chunk(items, chunk, results, now=now, user=user, checks=checks)
    return results


class _Checks:
    """The access checks of a lead's creation, each done once per distinct team and owner
    of a batch (the acting user is the same for all of its items)."""

    def __init__(self, user) -> None:
        self.user = user
        self.done: dict[tuple, tuple[Any, Exception | None]] = {}

    def _once(self, key: tuple, check):
        if key not in self.done:
            try:
                self.done[key] = (check(), None)
            except (ValidationError, PermissionDenied) as exc:
                self.done[key] = (None, exc)
        value, error = self.done[key]
        if error is not None:
            raise error
        return value

    def creating(self, data: dict) -> None:
        """`lead_upsert`'s checks before `lead_create`; resolves `owner_email` or
        `owner_name` and the default marketing team in `data`."""
        if self.user is not None and "marketing_team" not in data:
            team = self._once(("marketing_team",), lambda: access.default_marketing_team(self.user))
            if team is not None:
                data["marketing_team"] = team
        sales_team, marketing_team = data.get("sales_team"), data.get("marketing_team")
        teams = (getattr(sales_team, "pk", None), getattr(marketing_team, "pk", None))
        if self.user is not None:
            self._once(
                ("routing", *teams),
                lambda: _check_routing(
                    {"sales_team": sales_team, "marketing_team": marketing_team}, user=self.user
                ),
            )
        email, name = data.pop("owner_email", None), data.pop("owner_name", None)
        if email:
            data["owner"] = self._once(
                ("owner_email", email, teams[0]),
                lambda: access.owner_by_email(email, sales_team=sales_team),
            )
        elif name:
            data["owner"] = self._once(
                ("owner_name", name, teams[0]),
                lambda: access.owner_by_name(name, sales_team=sales_team),
            )
        owner = data.get("owner")
        self._once(
            ("owner", teams[0], getattr(owner, "pk", None)),
            lambda: access.require_owner(sales_team, owner),
        )


def _key(data: dict) -> tuple[str, Any]:
    return data.get("source_system") or "api", data.get("external_id")


def _existing_keys(keys: set[tuple[str, Any]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    rows = Lead.objects.filter(
        source_system__in={s for s, _ in keys}, external_id__in={e for _, e in keys}
    ).values_list("source_system", "external_id")
    return set(rows) & keys


def _plan_new(data: dict, *, now: datetime, user, checks: _Checks):
    """The rows of a new lead for the bulk path, or None: the single path takes the item
    (and reports what is wrong with it, or sets its stage after creating it)."""
    data = dict(data)
    source_system, external_id = _key(data)
    try:
        checks.creating(data)
        planned = lead_ingest.new_lead(
            source_system=source_system,
            external_id=external_id,
            now=now,
            user=user,
            owner=data.get("owner"),
            sales_team=data.get("sales_team"),
            marketing_team=data.get("marketing_team"),
            handed_off_at=data.get("handed_off_at"),
            **{k: data[k] for k in lead_services.LEAD_DATA_FIELDS if k in data},
        )
    except (ValidationError, PermissionDenied):
        return None
    if data.get("stage") and data["stage"] != planned.lead.stage:
        return None
    return planned


def _upsert_chunk(
    items: list[dict[str, Any]],
    chunk: range,
    results: list[dict[str, Any]],
    *,
    now: datetime,
    user,
    checks: _Checks,
) -> None:
    valid = []
    for i in chunk:
        if items[i].get("errors"):
            results[i] = {"result": "error", "lead": None, "errors": items[i]["errors"]}
        else:
            valid.append(i)
    keys = {_key(items[i]["data"]) for i in valid}
    seen = _existing_keys({k for k in keys if isinstance(k[1], str)})
    single, new = [], []
    for i in valid:
        key = _key(items[i]["data"])
        planned = None
        if key not in seen and isinstance(key[1], str):
            seen.add(key)
            planned = _plan_new(items[i]["data"], now=now, user=user, checks=checks)
        if planned is None:
            single.append(i)
        else:
            new.append((i, planned))
    if new:
        try:
            with transaction.atomic():
                leads = lead_ingest.create([p for _, p in new], now=now)
        except (IntegrityError, ValidationError, PermissionDenied):
            # A key taken meanwhile (or a row refused): each item answers on its own.
            single = sorted(single + [i for i, _ in new])
        else:
            for (i, _), lead in zip(new, leads, strict=True):
                results[i] = {"result": RESULT_CREATED, "lead": lead, "errors": {}}
    for i in single:
        results[i] = _upsert_item(items[i], now=now, user=user)


def _upsert_item(item: dict[str, Any], *, now: datetime, user=None) -> dict[str, Any]:
    if item.get("errors"):
        return {"result": "error", "lead": None, "errors": item["errors"]}
    try:
        with transaction.atomic():
            result, lead = lead_upsert(data=item["data"], now=now, user=user)
    except ValidationError as exc:
        return {"result": "error", "lead": None, "errors": error_messages(exc)}
    except PermissionDenied as exc:
        return {"result": "error", "lead": None, "errors": {"detail": [str(exc)]}}
    except IntegrityError:
        message = "Sent twice in this batch, or changed meanwhile."
        return {"result": "error", "lead": None, "errors": {"external_id": [message]}}
    return {"result": result, "lead": lead, "errors": {}}


# Activities -----------------------------------------------------------------------------


def activity_upsert(*, lead: Lead, data: dict[str, Any], now: datetime, user=None):
    """Log a touch once: an activity with the same (source_system, external_id) as one
    already recorded is not logged again. Returns ("created" | "unchanged", activity)."""
    source_system = data.get("source_system", "")
    external_id = data.get("external_id", "")
    if user is not None:
        access.require(access.can_work_lead(user, lead), "Only sales logs touches.")
    access.require_actor(user, lead=lead, actor=data.get("user"))
    if external_id:
        existing = Activity.objects.filter(
            source_system=source_system, external_id=external_id
        ).first()
        if existing is not None:
            return RESULT_UNCHANGED, existing
    try:
        with transaction.atomic():
            activity = lead_services.activity_log(
                lead=lead,
                kind=data["kind"],
                outcome=data.get("outcome", Activity.Outcome.ATTEMPTED),
                occurred_at=data["occurred_at"],
                note=data.get("note", ""),
                source_system=source_system,
                external_id=external_id,
                user=data.get("user", user),
                now=now,
            )
    except IntegrityError:
        # The same touch arrived concurrently: the first one wins.
        existing = Activity.objects.filter(source_system=source_system, external_id=external_id)
        return RESULT_UNCHANGED, existing.get()
    return RESULT_CREATED, activity


# Agreements and goals -------------------------------------------------------------------


@transaction.atomic
def agreement_create(
    *, user, name: str, marketing_team: Team, sales_team: Team, calendar
) -> Agreement:
    """A new agreement between two teams, with version 1 started as a draft."""
    from agreements.services import agreement_version_draft

    access.require_agreement_create(
        user, marketing_team=marketing_team, sales_team=sales_team, calendar=calendar
    )
    agreement = Agreement(
        name=name, marketing_team=marketing_team, sales_team=sales_team, calendar=calendar
    )
    agreement.full_clean()
    agreement.save()
    agreement_version_draft(agreement=agreement, user=user)
    return agreement


# Webhook subscriptions and sources ------------------------------------------------------


@transaction.atomic
def webhook_subscription_create(
    *, owner, url: str, events: list[str], name: str = ""
) -> tuple[WebhookSubscription, str]:
    """A new subscription; returns it with its signing secret."""
    secret = new_secret()
    subscription = WebhookSubscription(
        owner=owner, url=url, events=sorted(set(events)), name=name, secret=secret
    )
    subscription.full_clean()
    subscription.save()
    audit.record("webhook.create", subscription, changes={"url": url, "events": events})
    return subscription, secret


@transaction.atomic
def webhook_subscription_update(
    *, subscription: WebhookSubscription, data: dict[str, Any]
) -> WebhookSubscription:
    for key in ("url", "name"):
        if key in data:
            setattr(subscription, key, data[key])
    if "events" in data:
        subscription.events = sorted(set(data["events"]))
    if data.get("is_active") and not subscription.is_active:
        # Re-enabling starts a fresh failure count.
        subscription.is_active = True
        subscription.consecutive_failures = 0
        subscription.disabled_at = None
        subscription.disabled_reason = ""
    elif data.get("is_active") is False:
        subscription.is_active = False
    subscription.full_clean()
    subscription.save()
    audit.record("webhook.update", subscription, changes=data)
    return subscription


def webhook_source_create(*, name: str, slug: str, source_system: str = "", run_as=None):
    """A new inbound source; returns it with its shared secret."""
    secret = new_secret()
    source = WebhookSource(
        name=name, slug=slug, source_system=source_system or slug, secret=secret, run_as=run_as
    )
    source.full_clean()
    source.save()
    return source, secret


def inbound_event_record(
    *, source: WebhookSource, signature: str, event_id: str, event_type: str, now: datetime
) -> InboundEvent | None:
    """Remember an inbound request; None when it (its signature or event id) was seen
    before, so a replay is never applied twice. Call inside the transaction that applies it."""
    seen = InboundEvent.objects.filter(source=source).filter(
        Q(signature=signature) | (Q(event_id=event_id) & ~Q(event_id=""))
    )
    if seen.exists():
        return None
    try:
        with transaction.atomic():
            return InboundEvent.objects.create(
                source=source,
                signature=signature,
                event_id=event_id,
                event_type=event_type,
                received_at=now,
            )
    except IntegrityError:
        return None


# CSV imports ----------------------------------------------------------------------------


def import_create(
    *,
    user,
    content: str,
    filename: str,
    preset: str,
    mapping: dict,
    source_system: str,
    sales_team: Team | None,
    marketing_team: Team | None,
    now: datetime,
    backfill_reason: str = "",
) -> Import:
    from integrations import csv_mapping

    header = csv_mapping.header_of(content)
    explicit = mapping or {}
    mapping = csv_mapping.fit_to_header(
        csv_mapping.resolve_mapping(preset, explicit), explicit, header
    )
    if marketing_team is None and user is not None:
        marketing_team = access.default_marketing_team(user)  # as for a lead pushed alone
    if user is not None and not user.is_staff:
        _check_routing({"sales_team": sales_team, "marketing_team": marketing_team}, user=user)
    record = Import(
        user=user,
        content=content,
        filename=filename[:200],
        preset=preset,
        mapping=mapping,
        source_system=source_system or preset,
        sales_team=sales_team,
        marketing_team=marketing_team,
        total_rows=csv_mapping.count_rows(content),
        backfill_reason=(backfill_reason or "").strip()[:300],
        created_at=now,
    )
    record.full_clean()
    record.save()
    return record


# Rows per transaction: their upserts (new leads in one bulk write), row reports and progress
# together.
PROGRESS_EVERY = BULK_CHUNK


def _import_setting(name: str, default: int) -> int:
    from django.conf import settings

    return getattr(settings, name, default)


def _import_claimable(now: datetime):
    return Import.objects.filter(
        Q(status__in=[Import.Status.PENDING, Import.Status.RUNNING])
        & (Q(lease_until__isnull=True) | Q(lease_until__lte=now))
    )


class ImportChunk:
    """What one chunk run did: `claimed` (False: done, failed or held by another run),
    `more` (rows are left: enqueue the next chunk)."""

    def __init__(self, record: Import, *, claimed: bool, more: bool) -> None:
        self.record, self.claimed, self.more = record, claimed, more
        self.status, self.processed_rows = record.status, record.processed_rows


def import_run_chunk(
    *,
    import_id: int,
    now: datetime,
    max_rows: int | None = None,
    max_seconds: float | None = None,
) -> ImportChunk:
    """Import the next rows of a claimed import, from its stored offset (`processed_rows`).

    Claim: a conditional UPDATE takes a pending or running import whose lease is free or
    expired (a crashed run's), with a fresh token and `lease_until`. Then up to `max_rows`
    rows (settings.IMPORT_CHUNK_ROWS) or `max_seconds` (IMPORT_CHUNK_SECONDS), in groups of
    PROGRESS_EVERY rows: each group's upserts (`lead_upsert_many`: its new leads in one
    bulk write, the other rows each in its own savepoint, so a bad row is reported and never
    stops the good ones), row reports and progress commit together, so
    a run killed mid-group leaves nothing of that group and the next run redoes exactly it.
    The chunk releases the lease; the last one marks the import done."""
    import itertools
    import time
    import uuid
    from datetime import timedelta

    from integrations import csv_mapping
    from integrations.serializers import validate_upserts

    max_rows = max_rows or _import_setting("IMPORT_CHUNK_ROWS", 1000)
    max_seconds = max_seconds or _import_setting("IMPORT_CHUNK_SECONDS", 60)
    lease = timedelta(seconds=_import_setting("IMPORT_LEASE_SECONDS", 360))
    token = uuid.uuid4().hex
    claimed = (
        _import_claimable(now)
        .filter(pk=import_id)
        .update(status=Import.Status.RUNNING, claim_token=token, lease_until=now + lease)
    )
    record = Import.objects.select_related("user").get(pk=import_id)
    if not claimed:
        return ImportChunk(record, claimed=False, more=False)
    if record.started_at is None:
        Import.objects.filter(pk=record.pk).update(started_at=now)
    mine = Import.objects.filter(pk=record.pk, claim_token=token, status=Import.Status.RUNNING)
    defaults = {"source_system": record.source_system}
    if record.sales_team_id:
        defaults["sales_team"] = record.sales_team_id
    if record.marketing_team_id:
        defaults["marketing_team"] = record.marketing_team_id
    counts = {
        "created": record.created_count,
        "updated": record.updated_count,
        "unchanged": record.unchanged_count,
        "error": record.error_count,
    }
    processed = record.processed_rows
    remaining = csv_mapping.rows(record.content)
    remaining = itertools.islice(remaining, processed, None)
    started = time.monotonic()
    done_here = 0
    finished = False

    # Terms and calendars looked up once per chunk; rows older than the backfill window pass
    # only when a staff uploader gave the reason (recorded with each such event).
    with batch(), bounds.backfill(record.backfill_reason, by=record.user):
        while done_here < max_rows and time.monotonic() - started < max_seconds:
            group = list(itertools.islice(remaining, min(PROGRESS_EVERY, max_rows - done_here)))
            if not group:
                finished = True
                break
            with transaction.atomic():
                values = [
                    {**defaults, **csv_mapping.apply_mapping(record.preset, record.mapping, raw)}
                    for _, raw in group
                ]
                items = validate_upserts(values, context={"user": record.user})
                outcomes = lead_upsert_many(items, now=now, user=record.user)
                rows = []
                for (number, _), row_values, outcome in zip(group, values, outcomes, strict=True):
                    counts[outcome["result"]] += 1
                    rows.append(
                        ImportRow(
                            import_run=record,
                            number=number,
                            result=outcome["result"],
                            lead=outcome["lead"],
                            external_id=str(row_values.get("external_id", ""))[:100],
                            errors=_plain(outcome["errors"]),
                        )
                    )
                ImportRow.objects.bulk_create(rows)
                progressed = mine.filter(processed_rows=processed).update(
                    processed_rows=processed + len(group),
                    created_count=counts["created"],
                    updated_count=counts["updated"],
                    unchanged_count=counts["unchanged"],
                    error_count=counts["error"],
                    lease_until=now + lease,
                )
                if not progressed:  # the lease was lost to another run: undo this group
                    transaction.set_rollback(True)
            if not progressed:
                record.refresh_from_db()
                return ImportChunk(record, claimed=True, more=False)
            processed += len(group)
            done_here += len(group)
        else:
            finished = next(remaining, None) is None

    if finished:
        mine.update(status=Import.Status.DONE, finished_at=now, lease_until=None, claim_token="")
    else:
        mine.update(lease_until=None)
    record.refresh_from_db()
    return ImportChunk(record, claimed=True, more=not finished)


def import_run(*, import_id: int, now: datetime) -> Import:
    """Run every chunk of an import here and now (tests, the shell); returns it."""
    while True:
        chunk = import_run_chunk(import_id=import_id, now=now)
        if not chunk.more:
            return chunk.record


def import_release(*, import_id: int) -> None:
    """Give up this run's hold on an import (it resumes from its stored offset)."""
    Import.objects.filter(pk=import_id, status=Import.Status.RUNNING).update(lease_until=None)


def imports_to_resume(*, now: datetime, limit: int = 100) -> list[int]:
    """Imports waiting with nobody working on them: pending ones whose message was lost
    (a minute old), and running ones between chunks or whose run died (lease expired)."""
    from datetime import timedelta

    stale = Q(status=Import.Status.RUNNING) | Q(created_at__lte=now - timedelta(minutes=1))
    return list(
        _import_claimable(now)
        .filter(stale)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def import_fail(*, import_id: int, error: str, now: datetime) -> None:
    Import.objects.filter(pk=import_id).exclude(status=Import.Status.DONE).update(
        status=Import.Status.FAILED, error=error[:500], finished_at=now, lease_until=None
    )


def _plain(errors: Any) -> Any:
    """Serializer errors (ErrorDetail, nested) as plain JSON values."""
    if isinstance(errors, dict):
        return {str(k): _plain(v) for k, v in errors.items()}
    if isinstance(errors, list | tuple):
        return [_plain(v) for v in errors]
    return str(errors)


class ImportNotQueued(Exception):
    """The import could not be handed to the worker; nothing of it was kept."""


def import_start(**fields: Any) -> Import:
    """Record an import (`import_create`'s arguments) and hand it to the worker at once.

    For the imports page, which shows progress: when the broker refuses the message the
    import is deleted again and ImportNotQueued raised, so the person sees a clear error,
    nothing stays pending, and trying again makes one import, not two. (The API keeps the
    record-then-sweep rule: a pending import is started by the sweeper.)"""
    from integrations.tasks import run_import
    from slahub.queueing import enqueue

    record = import_create(**fields)  # committed: the worker must find it
    if not enqueue(run_import, record.pk):
        Import.objects.filter(pk=record.pk, status=Import.Status.PENDING, processed_rows=0).delete()
        raise ImportNotQueued(
            "The import could not be queued: the background worker's queue is not reachable. "
            "Nothing was imported; start it again once the worker runs (make run starts it)."
        )
    return record
