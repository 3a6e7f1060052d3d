"""The what-if replay of a drafted version (issue 15): what its terms would have meant for a
past window's leads, beside what actually happened under the terms in force.

The leads handed off in the window are played again under the draft (`leads.replay`, the
clock rules' own building blocks: a test shows that played under the terms in force they
give back the very clocks the engine recorded). Both sides are then counted by the reports'
own rule (`lead_clocks`, decided and met as in `clock_rows`) on a private, transaction-local
copy of the clock table, which hides the real one from this connection only and goes with
a rollback: first the clocks recorded for those leads, then the replayed ones. The real
clocks, breaches, alerts and figures are never written. Quota periods are measured by the
quota check's own measure (`agreements.kinds`) on unsaved period clocks. See
docs/agreements.md, "What-if replay".
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet

import audit
from agreements import access
from agreements.batch import batch
from agreements.errors import PermissionDenied, ValidationError
from agreements.kinds import kind as kind_of
from agreements.models import AgreementVersion, Commitment, ReplayRun, Side
from agreements.periods import Period, period_containing
from agreements.selectors import in_force, signed_versions_of_agreement
from leads import replay as lead_replay
from leads.models import CLOSED_STAGES, CONVERTED_STAGES, Activity, Lead, Obligation, StageEvent
from reports.metrics import ReportFilter, Status, lead_clocks, pct
from reports.metrics.filters import _decided as decided_clocks

Kind = Commitment.Kind
REPLAYABLE = (AgreementVersion.Status.DRAFT, AgreementVersion.Status.PROPOSED)
MAX_WINDOW = timedelta(days=370)
CHANGED_SHOWN = 200  # changed leads listed on the page (all are counted)
IN_FORCE, DRAFT = "in_force", "draft"
MET = Q(status=Status.MET)


def last_full_quarter(now: datetime, tz: ZoneInfo) -> Period:
    """The quarter before the one holding `now`, in the agreement's time zone."""
    return period_containing("quarter", now, tz).previous()


# Who and when -----------------------------------------------------------------------------


def can_replay(user, version: AgreementVersion) -> bool:
    return access.can_replay_version(user, version)


def replay_request(
    *,
    version: AgreementVersion,
    user,
    now: datetime,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> ReplayRun:
    """Record a replay of `version` over [window_start, window_end) (default: the last full
    quarter) and, after commit, ask a worker to run it."""
    from agreements import tasks  # the task module imports this one
    from slahub.queueing import enqueue_after_commit

    access.require(
        can_replay(user, version),
        "Only a manager of either team (or staff) replays an agreement's terms.",
    )
    if version.status not in REPLAYABLE:
        raise ValidationError("Only a draft or proposed version is replayed.")
    tz = ZoneInfo(version.agreement.calendar.timezone)
    if window_start is None or window_end is None:
        quarter = last_full_quarter(now, tz)
        window_start = window_start or quarter.start
        window_end = window_end or quarter.end
    if window_end <= window_start:
        raise ValidationError({"window_end": "The window must end after it starts."})
    if window_end > now:
        raise ValidationError({"window_end": "Replay a past window: it cannot end in the future."})
    if window_end - window_start > MAX_WINDOW:
        raise ValidationError({"window_start": "Replay at most a year at a time."})
    with transaction.atomic():
        run = ReplayRun.objects.create(
            version=version,
            window_start=window_start,
            window_end=window_end,
            requested_by=user,
            created_at=now,
        )
        audit.record(
            "version.replay",
            version,
            user=user,
            changes={"from": window_start.isoformat(), "to": window_end.isoformat()},
            teams=[version.agreement.marketing_team_id, version.agreement.sales_team_id],
        )
        enqueue_after_commit(tasks.run_replay, run.pk)
    return run


def last_run(version: AgreementVersion) -> ReplayRun | None:
    return version.replay_runs.select_related("requested_by").first()


RESEND_AFTER = timedelta(minutes=1)
# A running replay is held by its worker until `lease_until`; each progress write renews it.
# The longest stretch without a write (counting on the private clock table, which cannot
# write progress) takes well under a minute for a quarter at 100k leads.
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 3  # a run that stops its worker this often is failed, not sent again


def release_expired(*, now: datetime) -> int:
    """Runs whose worker's lease ran out (the worker died mid-run): back to waiting, to be
    sent again, or failed after MAX_ATTEMPTS. Two UPDATEs, whatever the count."""
    expired = ReplayRun.objects.filter(status=ReplayRun.Status.RUNNING, lease_until__lte=now)
    expired.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=ReplayRun.Status.FAILED,
        error=f"The worker stopped {MAX_ATTEMPTS} times while running this replay.",
        lease_until=None,
        finished_at=now,
    )
    return expired.filter(attempts__lt=MAX_ATTEMPTS).update(
        status=ReplayRun.Status.PENDING, progress=0, lease_until=None
    )


def runs_to_resume(*, now: datetime) -> QuerySet[ReplayRun]:
    """Runs still waiting a minute after they were asked for: their message was lost (the
    broker was down) or their worker died (`release_expired`). Sending one twice is
    harmless: only one worker claims it."""
    return ReplayRun.objects.filter(
        status=ReplayRun.Status.PENDING, created_at__lte=now - RESEND_AFTER
    ).order_by("created_at")


# The histories ----------------------------------------------------------------------------


# What the clock rules read of a lead (its matching fields, team, owner, times).
LEAD_FIELDS = (
    "name",
    "company",
    "tier",
    "lead_source",
    "country",
    "campaign",
    "score",
    "owner_id",
    "sales_team_id",
    "handed_off_at",
    "accepted_at",
    "rejected_at",
    "agreement_version_id",
)


def lead_histories(agreement, start: datetime, end: datetime) -> list[lead_replay.LeadHistory]:
    """The agreement's leads handed off in [start, end) with their touches, decisions and
    conversions or closes since the hand-off: three queries, whatever the count."""
    leads = list(
        Lead.objects.filter(
            sales_team_id=agreement.sales_team_id, handed_off_at__gte=start, handed_off_at__lt=end
        )
        .only(*LEAD_FIELDS)
        .order_by("pk")
    )
    histories = {
        lead.pk: lead_replay.LeadHistory(lead, [], lead.accepted_at, lead.rejected_at)
        for lead in leads
    }
    window = {  # the same leads, joined rather than listed (a quarter holds 100k ids)
        "lead__sales_team_id": agreement.sales_team_id,
        "lead__handed_off_at__gte": start,
        "lead__handed_off_at__lt": end,
    }
    touches = Activity.objects.filter(**window).values_list(
        "lead_id", "occurred_at", "pk", "outcome"
    )
    for lead_id, at, pk, outcome in touches.iterator(chunk_size=20000):
        histories[lead_id].touches.append((at, pk, outcome == Activity.Outcome.CONNECTED))
    changes = StageEvent.objects.filter(
        **window, to_stage__in=CONVERTED_STAGES + CLOSED_STAGES
    ).values_list("lead_id", "occurred_at", "to_stage")
    for lead_id, at, stage in changes.iterator(chunk_size=20000):
        histories[lead_id].stage_changes.append((at, stage))
    return list(histories.values())


# A private copy of the clock table --------------------------------------------------------

_COLUMNS = [f for f in Obligation._meta.concrete_fields]


@contextmanager
def private_clocks() -> Iterator[Callable[[ClockRows | Recorded], None]]:
    """Inside: `leads_obligation` names an empty temporary table of this connection (a
    temporary table hides the real one of the same name), and the function yielded fills
    it. Everything is rolled back at the end, so nothing reaches the real table."""
    table = connection.ops.quote_name(Obligation._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:
            Recorded.schema = _schema(cursor)
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {table} (LIKE {table} INCLUDING DEFAULTS) "  # nosec B608 # the name is the model's own table
                    "ON COMMIT DROP"
                )
            else:
                cursor.execute(f"CREATE TEMPORARY TABLE {table} AS SELECT * FROM {table} WHERE 0")  # nosec B608 # the name is the model's own table

        def fill(rows: ClockRows | Recorded) -> None:
            with connection.cursor() as cursor:
                rows.write(cursor, table)
                if connection.vendor == "postgresql":  # a temporary table has no statistics
                    cursor.execute(f"ANALYZE {table}")  # nosec B608 # the model's own table

        try:
            yield fill
        finally:
            transaction.set_rollback(True)


def _schema(cursor) -> str:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]
    return "main"


class Recorded:
    """The clocks the engine recorded for the window's leads (what actually happened under
    the terms in force), copied from the real table into the private one by one statement."""

    schema = "public"

    def __init__(self, agreement, start: datetime, end: datetime) -> None:
        self.params = [agreement.sales_team_id, start, end, agreement.pk]

    def write(self, cursor, table: str) -> None:
        qn = connection.ops.quote_name
        real = f"{qn(self.schema)}.{table}"
        leads = f"{qn(self.schema)}.{qn(Lead._meta.db_table)}"
        versions = f"{qn(self.schema)}.{qn(AgreementVersion._meta.db_table)}"
        cursor.execute(
            f"INSERT INTO {table} SELECT o.* FROM {real} o "  # nosec B608 # names are the models' own tables; values are params
            f"JOIN {leads} l ON l.id = o.lead_id "
            f"JOIN {versions} v ON v.id = o.agreement_version_id "
            "WHERE l.sales_team_id = %s AND l.handed_off_at >= %s AND l.handed_off_at < %s "
            "AND o.starts_at >= l.handed_off_at AND v.agreement_id = %s",
            self.params,
        )


class ClockRows:
    """Replayed clocks as rows for the private table, kept as COPY text (PostgreSQL) so a
    quarter at 100k leads does not hold a model instance per clock."""

    def __init__(self, now: datetime) -> None:
        self.now, self.count = now, 0
        self.copy = connection.vendor == "postgresql"
        self.buffer, self.rows = io.StringIO(), []
        self.names = [f.attname for f in _COLUMNS]

    def add(self, obligations: list[Obligation]) -> None:
        for o in obligations:
            self.count += 1
            values = o.__dict__
            row = [values.get(name) for name in self.names]
            row[0], row[_CREATED] = -self.count, self.now  # apart from the recorded ids
            if self.copy:
                self.buffer.write("\t".join([_NULL if v is None else _text(v) for v in row]))
                self.buffer.write("\n")
            else:
                self.rows.append(row)

    def write(self, cursor, table: str) -> None:
        names = ", ".join(connection.ops.quote_name(f.column) for f in _COLUMNS)
        if self.copy:
            self.buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN", self.buffer)
            return
        marks = ", ".join(["%s"] * len(_COLUMNS))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", self.rows)  # nosec B608 # the model's own table and columns


_NULL = r"\N"
_CREATED = [f.attname for f in _COLUMNS].index("created_at")
assert _COLUMNS[0].primary_key  # noqa: S101 - the row's first value is its id


def _text(value) -> str:
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# The figures ------------------------------------------------------------------------------


def _counted(f: ReportFilter, draft: AgreementVersion) -> dict[str, tuple[dict, dict]]:
    """Per side (the draft's clocks run under its version, the recorded ones under theirs),
    per clause and per lead: decided and met clocks, by the reports' own rule (the clocks
    of `lead_clocks`, decided and met as every clock figure counts them). One query for both
    sides; the clause totals are the leads' counts added up."""
    counted = {side: (defaultdict(lambda: [0, 0]), defaultdict(dict)) for side in (IN_FORCE, DRAFT)}
    per_lead = (
        lead_clocks(f)
        .values_list("lead_id", "kind", "agreement_version_id", "commitment__clause")
        .annotate(decided=Count("id", filter=decided_clocks(f)), met=Count("id", filter=MET))
        .order_by()
    )
    for lead_id, kind, version_id, clause, decided, met in per_lead:
        if not decided:
            continue
        side = DRAFT if version_id == draft.pk else IN_FORCE
        total = counted[side][0][(kind, str(clause))]
        total[0] += decided
        total[1] += met
        before = counted[side][1][lead_id].get(kind, (0, 0))
        counted[side][1][lead_id][kind] = (before[0] + decided, before[1] + met)
    return counted


def _quota_periods(version: AgreementVersion | None, start: datetime, end: datetime, tz):
    """(commitment, period) for the quota periods of `version` that begin in the window."""
    if version is None:
        return []
    found = []
    for c in version.commitments.filter(kind__in=Commitment.PERIOD_KINDS).order_by("kind", "order"):
        period = period_containing(c.period, start, tz)
        if period.start < start:
            period = period.next()
        while period.start < end:
            found.append((c, period))
            period = period.next()
    return found


def _quota(c: Commitment, period: Period, tz) -> dict:
    """One quota period measured by the quota check's own measure, on an unsaved clock."""
    o = Obligation(
        commitment=c, kind=c.kind, period_start=period.start, due_at=period.end, target=c.target
    )
    short = kind_of(c.kind).measure(o, period)
    status = "not judged" if short is None else ("missed" if short else "met")
    return {
        "clause": str(c.clause),
        "name": str(c),
        "kind": c.kind,
        "period": period.start.astimezone(tz).date().isoformat(),
        "period_kind": c.period,
        "target": c.target if c.kind == Kind.LEAD_VOLUME else c.min_acceptance_pct,
        "actual": o.actual,
        "sample": o.sample,
        "attainment_pct": pct(o.actual or 0, c.target) if c.kind == Kind.LEAD_VOLUME else None,
        "status": status,
    }


KIND_WORDS = {
    Kind.FIRST_TOUCH: "first touch",
    Kind.FOLLOW_UP: "follow-ups",
    Kind.DISPOSITION: "decision",
}


def _outcome_text(kinds: dict) -> str:
    parts = []
    for kind, words in KIND_WORDS.items():
        decided, met = kinds.get(kind, (0, 0))
        if not decided:
            continue
        if kind == Kind.FOLLOW_UP:
            parts.append(f"{words} {met} of {decided} kept")
        else:
            parts.append(f"{words} {'kept' if met == decided else 'missed'}")
    return "; ".join(parts) or "no clock decided"


def _outcomes(kinds: dict) -> dict:
    return {k: tuple(v) for k, v in kinds.items() if v[0]}


def compute(
    version: AgreementVersion,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """The replay's result (a JSON-ready dict): per commitment, each side's compliance;
    breaches per side; quota periods; the leads whose outcome changes."""
    agreement = version.agreement
    tz = ZoneInfo(agreement.calendar.timezone)
    tell = progress or (lambda pct_done: None)
    histories = lead_histories(agreement, start, end)
    total = max(len(histories), 1)
    tell(5)
    f = ReportFilter(
        start=start,
        end=now + timedelta(days=400),  # every clock of the window's leads, wherever due
        now=now,
        agreement_ids=(agreement.pk,),
        sales_team_ids=(agreement.sales_team_id,),
        tz=tz,
    )
    rows = ClockRows(now)
    with batch():  # the draft's commitments and the calendars read once, not per lead
        for n, history in enumerate(histories, start=1):
            rows.add(lead_replay.replay_lead(history, version))
            if n % 2000 == 0:
                tell(5 + int(80 * n / total))
    tell(85)
    with private_clocks() as fill:  # no progress written in here: it would be rolled back
        fill(Recorded(agreement, start, end))
        fill(rows)
        counted = _counted(f, version)
    tell(95)
    names = {}
    for c in Commitment.objects.filter(version__agreement=agreement).order_by("version__number"):
        names[str(c.clause)] = (str(c), c.kind, c.side)
    commitments = []
    clauses = sorted(
        set(counted[IN_FORCE][0]) | set(counted[DRAFT][0]),
        key=lambda key: (list(KIND_WORDS).index(key[0]), names.get(key[1], ("",))[0]),
    )
    breaches = {
        IN_FORCE: {Side.SALES: 0, Side.MARKETING: 0},
        DRAFT: {Side.SALES: 0, Side.MARKETING: 0},
    }
    for key in clauses:
        kind, clause = key
        line = {
            "clause": clause,
            "kind": kind,
            "name": names.get(clause, (kind,))[0],
            "side": Side.SALES,
        }
        for side in (IN_FORCE, DRAFT):
            decided, met = counted[side][0].get(key, (0, 0))
            line[side] = {
                "decided": decided,
                "met": met,
                "missed": decided - met,
                "pct": pct(met, decided),
            }
            breaches[side][Side.SALES] += decided - met
        commitments.append(line)
    quota = {IN_FORCE: [], DRAFT: []}
    for c, period in _quota_periods(version, start, end, tz):
        quota[DRAFT].append(_quota(c, period, tz))
    signed = signed_versions_of_agreement(agreement)
    for v in signed:
        for c, period in _quota_periods(v, start, end, tz):
            if in_force(signed, period.start) == v:
                quota[IN_FORCE].append(_quota(c, period, tz))
    for side in (IN_FORCE, DRAFT):
        quota[side].sort(key=lambda q: (q["period"], q["kind"], q["name"]))
        breaches[side][Side.MARKETING] = sum(q["status"] == "missed" for q in quota[side])
    changed = []
    leads = {h.lead.pk: h.lead for h in histories}
    before, after = counted[IN_FORCE][1], counted[DRAFT][1]
    for lead_id in sorted(set(before) | set(after)):
        was, would = _outcomes(before.get(lead_id, {})), _outcomes(after.get(lead_id, {}))
        if was != would:
            changed.append(
                {
                    "lead": lead_id,
                    "name": str(leads[lead_id]),
                    IN_FORCE: _outcome_text(was),
                    DRAFT: _outcome_text(would),
                }
            )
    return {
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "leads": len(histories),
        "commitments": commitments,
        "breaches": breaches,
        "quota": quota,
        "changed_count": len(changed),
        "changed": changed[:CHANGED_SHOWN],
    }


# Running one ------------------------------------------------------------------------------


def run_one(run_id: int, *, now: datetime, clock: Callable[[], datetime] | None = None) -> str:
    """Claim a waiting run (a conditional UPDATE: only one worker runs it), compute it and
    store the result. The claim takes a lease of LEASE; each progress write (its own short
    transaction) renews it from `clock()` (default: `now`). The result is stored only by
    the claim still holding the run: a worker taken for dead and overtaken stores nothing."""
    clock = clock or (lambda: now)
    claimed = ReplayRun.objects.filter(pk=run_id, status=ReplayRun.Status.PENDING).update(
        status=ReplayRun.Status.RUNNING,
        progress=1,
        lease_until=now + LEASE,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return "skipped"
    run = ReplayRun.objects.select_related("version__agreement__calendar").get(pk=run_id)
    held = ReplayRun.objects.filter(
        pk=run_id, status=ReplayRun.Status.RUNNING, attempts=run.attempts
    )

    def progress(done: int) -> None:
        held.update(progress=min(done, 99), lease_until=clock() + LEASE)

    try:
        result = compute(
            run.version, start=run.window_start, end=run.window_end, now=now, progress=progress
        )
    except Exception as exc:  # noqa: BLE001 - the page says it failed; the worker goes on
        held.update(
            status=ReplayRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:500],
            lease_until=None,
            finished_at=now,
        )
        raise
    stored = held.update(
        status=ReplayRun.Status.DONE,
        progress=100,
        result=result,
        leads=result["leads"],
        lease_until=None,
        finished_at=now,
    )
    return "done" if stored else "overtaken"


__all__ = ["PermissionDenied", "replay_request", "run_one", "compute", "last_run"]


# For the page -----------------------------------------------------------------------------

SIDE_NAMES = {IN_FORCE: "Terms in force", DRAFT: "This draft"}


def result_view(result: dict) -> dict:
    """A stored result arranged for the page: quota periods of both sides paired by period
    and commitment, breaches per side as rows. Arranges; counts nothing."""
    paired: dict = {}
    for side in (IN_FORCE, DRAFT):
        for q in result.get("quota", {}).get(side, []):
            key = (q["period"], q["kind"], q["clause"])
            paired.setdefault(key, {"period": q["period"], "name": q["name"], "kind": q["kind"]})
            paired[key][side] = q
    breaches = result.get("breaches", {})
    return {
        "commitments": result.get("commitments", []),
        "quota": [paired[k] for k in sorted(paired)],
        "breaches": [
            {
                "side": side,
                IN_FORCE: breaches.get(IN_FORCE, {}).get(side, 0),
                DRAFT: breaches.get(DRAFT, {}).get(side, 0),
            }
            for side in (Side.SALES, Side.MARKETING)
        ],
        "changed": result.get("changed", []),
        "changed_count": result.get("changed_count", 0),
        "leads": result.get("leads", 0),
    }
