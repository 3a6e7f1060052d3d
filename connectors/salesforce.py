"""Salesforce through simple-salesforce: SOQL on SystemModstamp through queryAll (so deleted
records arrive with IsDeleted and are logged, not lost), paged with nextRecordsUrl, and
the write-back through the sObject Collections API. Signs in with OAuth 2.0 — a refresh
token or a JWT bearer assertion — at the login URL's /services/oauth2/token; an access
token refused with INVALID_SESSION_ID (401) is renewed once and the call repeated."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from connectors import crypto
from connectors.records import ConnectorError, DealRecord, LeadRecord, Page, TouchRecord

API_VERSION = "62.0"
TIMEOUT = (10, 60)
MAX_RETRIES = 4
OBJECTS = ["Lead", "Task", "Event", "Opportunity"]
FIELDS = {
    "Lead": "Id, FirstName, LastName, Email, Company, Title, Phone, Country, Status, "
    "Owner.Email, LastModifiedDate, IsDeleted, SystemModstamp",
    "Task": "Id, WhoId, Subject, TaskSubtype, CallDisposition, Status, CompletedDateTime, "
    "CreatedDate, Owner.Email, IsDeleted, SystemModstamp",
    "Event": "Id, WhoId, Subject, StartDateTime, Owner.Email, IsDeleted, SystemModstamp",
    "Opportunity": "Id, Name, StageName, Amount, CloseDate, IsClosed, LastModifiedDate, "
    "IsDeleted, SystemModstamp",
}
EPOCH = "1970-01-01T00:00:00Z"


def parse_time(value) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # Salesforce writes +0000
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def soql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceAdapter:
    objects = OBJECTS

    def __init__(
        self,
        *,
        connector,
        secrets: dict[str, str],
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.connector, self.secrets = connector, dict(secrets)
        self.settings = connector.settings or {}
        self.sleep = sleep
        self.session = session or requests.Session()
        self.sf: Salesforce | None = None
        if not self.settings.get("client_id"):
            raise ConnectorError("No connected app consumer key is set: enter it on the page.")

    # Signing in --------------------------------------------------------------------------

    def _token(self) -> None:
        """A fresh access token from the refresh token or a JWT assertion (kept sealed)."""
        login = (self.settings.get("login_url") or "https://login.salesforce.com").rstrip("/")
        if self.settings.get("auth") == "jwt":
            import jwt

            claims = {
                "iss": self.settings["client_id"],
                "sub": self.settings.get("username", ""),
                "aud": login,
                "exp": int(time.time()) + 180,
            }
            try:
                assertion = jwt.encode(claims, self.secrets.get("private_key", ""), "RS256")
            except (ValueError, TypeError, jwt.PyJWTError):
                raise ConnectorError("The stored private key is not a valid PEM RSA key.") from None
            form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
            form["assertion"] = assertion
        else:
            if not self.secrets.get("refresh_token"):
                raise ConnectorError("No Salesforce refresh token is stored: enter it on the page.")
            form = {
                "grant_type": "refresh_token",
                "client_id": self.settings["client_id"],
                "client_secret": self.secrets.get("client_secret", ""),
                "refresh_token": self.secrets["refresh_token"],
            }
        try:
            answer = self.session.post(f"{login}/services/oauth2/token", data=form, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise ConnectorError(f"Salesforce sign-in could not be reached: {exc}") from None
        body = _json(answer)
        if answer.status_code != 200 or "access_token" not in body:
            error = body.get("error", answer.status_code)
            detail = body.get("error_description", "")
            raise ConnectorError(
                f"Salesforce refused the sign-in ({error}: {detail}): reconnect it on the page."
            )
        self.secrets["access_token"] = body["access_token"]
        self.settings["instance_url"] = body.get("instance_url") or self.settings.get(
            "instance_url", ""
        )
        type(self.connector).objects.filter(pk=self.connector.pk).update(
            credentials=crypto.seal(self.secrets)
        )
        self.sf = None

    def _client(self) -> Salesforce:
        if not self.secrets.get("access_token"):
            self._token()
        if self.sf is None:
            self.sf = Salesforce(
                instance_url=self.settings.get("instance_url", ""),
                session_id=self.secrets["access_token"],
                version=API_VERSION,
                session=self.session,
            )
        return self.sf

    def _call(self, what: str, fn_name: str, *args, **kwargs):
        renewed = False
        for attempt in range(MAX_RETRIES + 1):
            try:
                return getattr(self._client(), fn_name)(*args, timeout=TIMEOUT, **kwargs)
            except SalesforceExpiredSession:
                if renewed:
                    raise ConnectorError(
                        f"Salesforce refused a fresh access token ({what})."
                    ) from None
                self._token()
                renewed = True
            except SalesforceError as exc:
                code = _error_code(exc)
                if code == "INVALID_QUERY_LOCATOR":  # a page link expired: query again
                    raise _LocatorExpired from None
                if code == "REQUEST_LIMIT_EXCEEDED" and attempt < MAX_RETRIES:
                    self.sleep(min(2.0**attempt, 60.0))
                    continue
                if code == "REQUEST_LIMIT_EXCEEDED":
                    raise ConnectorError(
                        "Salesforce's API request limit is used up (REQUEST_LIMIT_EXCEEDED); "
                        "the next sync resumes from the same page."
                    ) from None
                raise ConnectorError(
                    f"Salesforce answered {exc.status} to {what}: {code or 'error'}."
                ) from None
            except requests.RequestException as exc:
                raise ConnectorError(f"Salesforce could not be reached ({what}): {exc}") from None
        raise AssertionError("unreachable")

    # Pull -----------------------------------------------------------------------------------

    def pull(self, object_type: str, state: dict) -> Page:
        since = state.get("since") or EPOCH
        seen = state.get("seen") or since
        try:
            if state.get("next"):
                answer = self._call(
                    f"read {object_type}", "query_more", state["next"], identifier_is_url=True
                )
            else:
                answer = self._query(object_type, since)
        except _LocatorExpired:
            answer = self._query(object_type, since)
        rows = answer.get("records", [])
        for row in rows:
            seen = max(seen, soql_time(parse_time(row["SystemModstamp"])))
        links = self._converted(rows) if object_type != "Lead" else {}
        records = [self._record(object_type, row, links) for row in rows]
        if not answer.get("done", True) and answer.get("nextRecordsUrl"):
            state = {"since": since, "next": answer["nextRecordsUrl"], "seen": seen}
            return Page(object_type, records, state, False)
        return Page(object_type, records, {"since": seen, "next": None, "seen": seen}, True)

    def _query(self, object_type: str, since: str) -> dict:
        since = soql_time(parse_time(since))  # a SOQL datetime literal, nothing else
        # SOQL, not SQL: fixed field lists, and the only value is the literal just made.
        soql = (
            f"SELECT {FIELDS[object_type]} FROM {object_type} "  # nosec B608
            f"WHERE SystemModstamp >= {since} ORDER BY SystemModstamp ASC, Id ASC"
        )
        return self._call(f"query {object_type}", "query", soql, include_deleted=True)

    def _converted(self, rows: list[dict]) -> dict[str, str]:
        """Contact / opportunity id → the converted Lead's id (one query a page)."""
        ids = {r.get("WhoId") for r in rows if (r.get("WhoId") or "").startswith("003")}
        ids |= {r["Id"] for r in rows if r["Id"].startswith("006")}
        if not ids:
            return {}
        quoted = ", ".join(f"'{pk}'" for pk in sorted(ids) if pk.isalnum())
        # Salesforce ids are alphanumeric; anything else was dropped above.
        soql = (
            "SELECT Id, ConvertedContactId, ConvertedOpportunityId FROM Lead "  # nosec B608
            f"WHERE ConvertedContactId IN ({quoted}) OR ConvertedOpportunityId IN ({quoted})"
        )
        answer = self._call("read converted leads", "query", soql)
        links = {}
        for row in answer.get("records", []):
            for key in ("ConvertedContactId", "ConvertedOpportunityId"):
                if row.get(key):
                    links[row[key]] = row["Id"]
        return links

    def _record(self, object_type: str, row: dict, links: dict[str, str]):
        modified = parse_time(row["SystemModstamp"])
        owner = (row.get("Owner") or {}).get("Email") or ""
        deleted = bool(row.get("IsDeleted"))
        if object_type == "Lead":
            name = " ".join(x for x in (row.get("FirstName"), row.get("LastName")) if x)
            return LeadRecord(
                id=row["Id"],
                modified=modified,
                data={
                    "name": name or row.get("Email") or f"Salesforce lead {row['Id']}",
                    "email": row.get("Email") or "",
                    "company": row.get("Company") or "",
                    "title": row.get("Title") or "",
                    "phone": row.get("Phone") or "",
                    "country": row.get("Country") or "",
                },
                crm_stage=row.get("Status") or "",
                owner_email=owner,
                stage_at=parse_time(row.get("LastModifiedDate")) or modified,
                handoff_at=(
                    parse_time(row.get("LastModifiedDate"))
                    if row.get("Status") in self._handoff_statuses()
                    else None
                ),
                deleted=deleted,
            )
        if object_type == "Opportunity":
            closed = _close_time(row.get("CloseDate")) if row.get("IsClosed") else None
            return DealRecord(
                id=row["Id"],
                modified=modified,
                name=row.get("Name") or "",
                crm_stage=row.get("StageName") or "",
                amount=_decimal(row.get("Amount")),
                closed_at=closed,
                stage_at=parse_time(row.get("LastModifiedDate")) or modified,
                lead_ids=[links[row["Id"]]] if row["Id"] in links else [],
                deleted=deleted,
            )
        who = row.get("WhoId") or ""
        lead_ids = [links.get(who, who)] if who else []
        if object_type == "Event":
            return TouchRecord(
                id=f"Event:{row['Id']}",
                modified=modified,
                kind="meeting",
                outcome="connected",
                occurred_at=parse_time(row.get("StartDateTime")),
                lead_ids=lead_ids,
                owner_email=owner,
                note=row.get("Subject") or "",
                deleted=deleted,
            )
        subtype = (row.get("TaskSubtype") or "").lower()
        skip = ""
        if subtype not in ("call", "email"):
            skip = "Only calls and emails count as touches."
        elif row.get("Status") != "Completed":
            skip = "Not completed yet."
        connected = "connect" in (row.get("CallDisposition") or "").lower()
        return TouchRecord(
            id=f"Task:{row['Id']}",
            modified=modified,
            kind=subtype or "other",
            outcome="connected" if connected else "attempted",
            occurred_at=parse_time(row.get("CompletedDateTime") or row.get("CreatedDate")),
            lead_ids=lead_ids,
            owner_email=owner,
            note=row.get("Subject") or "",
            skip=skip,
            deleted=deleted,
        )

    def _handoff_statuses(self) -> set[str]:
        table = self.settings.get("stage_map") or {}
        return {crm for crm, stage in table.items() if stage == "mql"}

    # Write-back ---------------------------------------------------------------------------

    def write_back(self, updates: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
        """Update Lead fields, 200 records a call (sObject Collections, not all-or-none);
        returns the (lead id, reason) of each record Salesforce refused."""
        refused = []
        for start in range(0, len(updates), 200):
            chunk = updates[start : start + 200]
            records = [
                {"attributes": {"type": "Lead"}, "id": pk}
                | {k: (v or None) for k, v in props.items()}
                for pk, props in chunk
            ]
            answer = self._call(
                "write back leads",
                "restful",
                "composite/sobjects",
                method="PATCH",
                json={"allOrNone": False, "records": records},
            )
            for (pk, _), result in zip(chunk, answer or [], strict=False):
                if not result.get("success", True):
                    errors = result.get("errors") or [{}]
                    code = errors[0].get("statusCode", "")
                    refused.append(
                        (pk, f"Write-back refused: {code} {errors[0].get('message', '')}")
                    )
        return refused


class _LocatorExpired(Exception):
    pass


def _json(answer) -> dict:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(exc: SalesforceError) -> str:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", ""))
    return ""


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _close_time(value) -> datetime | None:
    """A CloseDate (a day) as the end of that day in UTC."""
    if not value:
        return None
    day = date.fromisoformat(str(value))
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1, seconds=-1)
