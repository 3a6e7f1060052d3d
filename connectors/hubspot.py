"""HubSpot through hubspot-api-client: the CRM search API (POST /crm/v3/objects/<type>/search
sorted on the last-modified date, paged with `after`), owners, v4 association batch reads
and batch updates for the write-back. A private app's token authenticates every call."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException

from connectors.records import ConnectorError, DealRecord, LeadRecord, Page, TouchRecord

API_BASE = "https://api.hubapi.com"
PAGE_SIZE = 100
TIMEOUT = (10, 60)
MAX_RETRIES = 5
SEARCH_LIMIT = 10_000  # the search API pages no further: restart from the last date seen
CONNECTED_CALL = "f240bbac-87c9-4f6e-bf70-924b57d47db7"  # HubSpot's "Connected" disposition

# Touches before deals: a touch is judged by the clocks before a won deal stops them.
OBJECTS = ["contacts", "calls", "emails", "meetings", "deals"]
PROPERTIES = {
    "contacts": [
        "firstname",
        "lastname",
        "email",
        "company",
        "jobtitle",
        "phone",
        "country",
        "lifecyclestage",
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "hubspot_owner_id",
        "lastmodifieddate",
    ],
    "deals": ["dealname", "dealstage", "amount", "closedate", "hs_lastmodifieddate"],
    "calls": [
        "hs_timestamp",
        "hs_call_title",
        "hs_call_disposition",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ],
    "emails": [
        "hs_timestamp",
        "hs_email_subject",
        "hs_email_direction",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ],
    "meetings": [
        "hs_timestamp",
        "hs_meeting_start_time",
        "hs_meeting_title",
        "hs_meeting_outcome",
        "hubspot_owner_id",
        "hs_lastmodifieddate",
    ],
}
API_ERRORS = (ObjectsApiException, AssociationsApiException, OwnersApiException)


def modified_property(object_type: str) -> str:
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def parse_time(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class HubSpotAdapter:
    """One connector's HubSpot account. `sleep` is how it waits out a 429 (tests pass a
    recorder)."""

    def __init__(
        self,
        *,
        token: str,
        api_base: str = API_BASE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise ConnectorError("No HubSpot private app token is stored: enter it on the page.")
        self.client = HubSpot(access_token=token, host=api_base.rstrip("/"))
        self.sleep = sleep
        self._owners: dict[str, str] | None = None

    # Calls, with the rate limit waited out -----------------------------------------------

    def _call(self, what: str, fn: Callable, *args, **kwargs):
        for attempt in range(MAX_RETRIES + 1):
            try:
                return fn(*args, _request_timeout=TIMEOUT, **kwargs)
            except API_ERRORS as exc:
                if exc.status == 429 and attempt < MAX_RETRIES:
                    self.sleep(_retry_after(exc, attempt))
                    continue
                raise ConnectorError(_explain(what, exc)) from None
            except (OSError, urllib3.exceptions.HTTPError) as exc:  # refused, reset, timed out
                reason = type(exc).__name__
                raise ConnectorError(f"HubSpot could not be reached ({what}): {reason}.") from None
        raise AssertionError("unreachable")

    # Pull -----------------------------------------------------------------------------------

    objects = OBJECTS

    def pull(self, object_type: str, state: dict) -> Page:
        """The next page of `object_type` modified at or after the state's `since`."""
        prop = modified_property(object_type)
        since = state.get("since") or 0
        request = {
            "filterGroups": [
                {"filters": [{"propertyName": prop, "operator": "GTE", "value": str(since)}]}
            ],
            "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
            "properties": PROPERTIES[object_type],
            "limit": PAGE_SIZE,
        }
        if state.get("after"):
            request["after"] = state["after"]
        answer = self._call(
            f"search {object_type}",
            self.client.crm.objects.search_api.do_search,
            object_type=object_type,
            public_object_search_request=request,
        )
        results = answer.results or []
        after = answer.paging.next.after if answer.paging and answer.paging.next else None
        seen = state.get("seen") or since
        for result in results:
            moment = parse_time((result.properties or {}).get(prop)) or result.updated_at
            if moment is not None:
                seen = max(seen, _millis(parse_time(moment)))
        links = {}
        if object_type != "contacts" and results:
            links = self._contacts_of(object_type, [r.id for r in results])
        records = [self._record(object_type, r, links.get(str(r.id), [])) for r in results]
        if after and after.isdigit() and int(after) + PAGE_SIZE > SEARCH_LIMIT:
            after = None  # the next pass restarts at the last date seen, past this window
        if after:
            return Page(object_type, records, {"since": since, "after": after, "seen": seen}, False)
        return Page(object_type, records, {"since": seen, "after": None, "seen": seen}, True)

    def _contacts_of(self, object_type: str, ids: list[str]) -> dict[str, list[str]]:
        answer = self._call(
            f"read {object_type} associations",
            self.client.crm.associations.v4.batch_api.get_page,
            from_object_type=object_type,
            to_object_type="contacts",
            batch_input_public_fetch_associations_batch_request={
                "inputs": [{"id": str(pk)} for pk in ids]
            },
        )
        return {
            str(row._from.id): [str(to.to_object_id) for to in row.to or []]
            for row in answer.results or []
        }

    def owner_emails(self) -> dict[str, str]:
        """HubSpot owner id → email, read once per sync (owners are paged too)."""
        if self._owners is None:
            owners, after = {}, None
            while True:
                kwargs = {"limit": 100, "archived": False}
                if after:
                    kwargs["after"] = after
                answer = self._call(
                    "list owners", self.client.crm.owners.owners_api.get_page, **kwargs
                )
                for owner in answer.results or []:
                    if owner.email:
                        owners[str(owner.id)] = owner.email
                after = answer.paging.next.after if answer.paging and answer.paging.next else None
                if not after:
                    break
            self._owners = owners
        return self._owners

    def _record(self, object_type: str, result, contact_ids: list[str]):
        p = result.properties or {}
        modified = parse_time(p.get(modified_property(object_type))) or result.updated_at
        owner = self.owner_emails().get(str(p.get("hubspot_owner_id") or ""), "")
        deleted = bool(result.archived)
        if object_type == "contacts":
            name = " ".join(x for x in (p.get("firstname"), p.get("lastname")) if x)
            stage = p.get("lifecyclestage") or ""
            return LeadRecord(
                id=str(result.id),
                modified=modified,
                data={
                    "name": name or p.get("email") or f"HubSpot contact {result.id}",
                    "email": p.get("email") or "",
                    "company": p.get("company") or "",
                    "title": p.get("jobtitle") or "",
                    "phone": p.get("phone") or "",
                    "country": p.get("country") or "",
                },
                crm_stage=stage,
                owner_email=owner,
                stage_at=parse_time(p.get(f"hs_lifecyclestage_{stage}_date")) or modified,
                handoff_at=parse_time(p.get("hs_lifecyclestage_marketingqualifiedlead_date")),
                deleted=deleted,
            )
        if object_type == "deals":
            return DealRecord(
                id=str(result.id),
                modified=modified,
                name=p.get("dealname") or "",
                crm_stage=p.get("dealstage") or "",
                amount=_decimal(p.get("amount")),
                closed_at=parse_time(p.get("closedate")),
                lead_ids=contact_ids,
                deleted=deleted,
            )
        kind = {"calls": "call", "emails": "email", "meetings": "meeting"}[object_type]
        outcome, skip = "attempted", ""
        if object_type == "calls":
            note = p.get("hs_call_title") or ""
            if p.get("hs_call_disposition") == CONNECTED_CALL:
                outcome = "connected"
        elif object_type == "emails":
            note = p.get("hs_email_subject") or ""
            if (p.get("hs_email_direction") or "EMAIL") != "EMAIL":
                skip = "An incoming or forwarded email is not a touch."
        else:
            note = p.get("hs_meeting_title") or ""
            if p.get("hs_meeting_outcome") == "COMPLETED":
                outcome = "connected"
        occurred = parse_time(p.get("hs_meeting_start_time") or p.get("hs_timestamp"))
        return TouchRecord(
            id=f"{object_type}:{result.id}",
            modified=modified,
            kind=kind,
            outcome=outcome,
            occurred_at=occurred,
            lead_ids=contact_ids,
            owner_email=owner,
            note=note,
            skip=skip,
            deleted=deleted,
        )

    # Write-back ---------------------------------------------------------------------------

    def write_back(self, updates: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
        """Set contact properties, 100 contacts a call. A batch is all or nothing: a refusal
        fails the run (its message says why), so nothing is ever refused one by one."""
        for start in range(0, len(updates), 100):
            chunk = updates[start : start + 100]
            self._call(
                "write back contacts",
                self.client.crm.objects.batch_api.update,
                object_type="contacts",
                batch_input_simple_public_object_batch_input={
                    "inputs": [{"id": pk, "properties": props} for pk, props in chunk]
                },
            )
        return []


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _retry_after(exc, attempt: int) -> float:
    """HubSpot's Retry-After (seconds) when given, else an exponential wait; at most 60 s."""
    headers = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        wait = float(value)
    except (TypeError, ValueError):
        wait = 2.0**attempt
    return max(0.0, min(wait, 60.0))


def _explain(what: str, exc) -> str:
    if exc.status == 401:
        return "HubSpot refused the private app token (401): paste a valid token on the page."
    if exc.status == 403:
        return f"The private app lacks a scope needed to {what} (403): see docs/integrations.md."
    if exc.status == 429:
        return f"HubSpot kept refusing with its rate limit (429) while trying to {what}."
    return f"HubSpot answered {exc.status} {exc.reason or ''} to {what}.".replace("  ", " ")
