"""The periodic checks: deadline scan, warnings, quota evaluation.

Each claims the rows it works on with SELECT … FOR UPDATE SKIP LOCKED, so any number of
scans may run at once and every breach or warning is recorded once; the one-to-one
breach→obligation constraint is the last guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Prefetch, Q

from agreements.kinds import kind as kind_of
from agreements.models import AgreementVersion, Commitment, Side
from agreements.periods import Period, period_containing, volume_at_risk
from agreements.selectors import in_force
from agreements.services import agreement_versions_activate_due
from leads import clocks, events
from leads.models import Obligation
from leads.selectors import open_obligations_to_warn

BATCH = 500
Status = Obligation.Status


@dataclass
class ScanResult:
    breached: int = 0
    warned: int = 0

    def __str__(self) -> str:
        return f"deadline scan: {self.breached} breached, {self.warned} warned"


def _claim(queryset, *, limit: int) -> list[Obligation]:
    return list(
        queryset.select_for_update(skip_locked=True, of=("self",)).order_by("due_at")[:limit]
    )


def breach_due_obligations(*, now: datetime, batch: int = BATCH) -> int:
    """Breach every open lead clock past due; returns how many this scan recorded."""
    total = 0
    while True:
        with transaction.atomic():
            breaches = clocks.breach_due(now=now, limit=batch)
            if not breaches:
                return total
            events.breaches_created(breaches, now=now)
            total += len(breaches)


def warn_obligations(*, now: datetime, batch: int = BATCH) -> int:
    total = 0
    while True:
        with transaction.atomic():
            claimed = _claim(open_obligations_to_warn(now), limit=batch)
            if not claimed:
                return total
            Obligation.objects.filter(pk__in=[o.pk for o in claimed]).update(warned_at=now)
            events.obligations_warned(claimed, now=now)
            total += len(claimed)


def deadline_scan(*, now: datetime) -> ScanResult:
    return ScanResult(breached=breach_due_obligations(now=now), warned=warn_obligations(now=now))


# Quotas ---------------------------------------------------------------------------------


@dataclass
class QuotaResult:
    activated: int = 0  # scheduled versions that came into force
    evaluated: int = 0
    at_risk: int = 0
    met: int = 0
    missed: int = 0
    opened: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        line = (
            f"quota evaluation: {self.evaluated} periods evaluated, {self.at_risk} at risk, "
            f"{self.met} met, {self.missed} missed"
        )
        if self.activated:
            line += f"; {self.activated} scheduled version(s) came into force"
        return line


def _period_obligation(commitment: Commitment, period: Period) -> Obligation:
    """The period's obligation of this commitment's clause, opened under its version. If the
    clause's period is already open under an earlier version, it moves to this one only when
    this version says so (`applies_to_running_periods`); otherwise it keeps its terms."""
    version = commitment.version
    agreement = version.agreement
    running = (
        Obligation.objects.filter(
            commitment__clause=commitment.clause,
            commitment__version__agreement_id=agreement.pk,
            period_start=period.start,
            lead=None,
        )
        .select_related("commitment")
        .first()
    )
    if running is not None:
        moves = (
            running.commitment_id != commitment.pk
            and running.status == Status.OPEN
            and version.applies_to_running_periods
            and running.agreement_version_id != version.pk
        )
        if moves:
            running.commitment, running.agreement_version = commitment, version
            running.target = commitment.target
            running.save(update_fields=["commitment", "agreement_version", "target"])
        return running
    obligation, _ = Obligation.objects.get_or_create(
        commitment=commitment,
        period_start=period.start,
        lead=None,
        defaults={
            "kind": commitment.kind,
            "side": Side.MARKETING,
            "agreement_version": version,
            "team": agreement.marketing_team,
            "starts_at": period.start,
            "due_at": period.end,
            "target": commitment.target,
        },
    )
    return obligation


def _measure(obligation: Obligation, period: Period) -> bool | None:
    """Set `actual` (and `sample` for quality) of a period obligation from the leads, by the
    kind's own measure (agreements.kinds).

    Returns whether it falls short of its promise so far, or None when there are too few
    to judge (marketing's lead quality below its minimum sample).
    """
    return kind_of(obligation.commitment.kind).measure(obligation, period)


def _close(obligation: Obligation, status: str, *, now: datetime) -> list[str]:
    obligation.status, obligation.closed_at = status, now
    if status == Status.MET:
        obligation.met_at = obligation.met_at or now  # a volume target: when first reached
    return ["status", "closed_at", "met_at"]


def _evaluate(obligation: Obligation, *, now: datetime, result: QuotaResult) -> None:
    """At the period's end: missed (a breach) if short, met if not, cancelled if there were
    too few dispositions to judge quality. Before the end the period stays open and its
    count keeps running (the reports show it live): a volume target reached early is only
    signalled (`met_at`, once); otherwise at risk (once) when the pace or the rate falls short."""
    commitment = obligation.commitment
    period = Period(commitment.period, obligation.period_start, obligation.due_at)
    short = _measure(obligation, period)
    result.evaluated += 1
    spec = kind_of(commitment.kind)
    fields = ["actual", "sample"]
    if now >= obligation.due_at and short:
        obligation.met_at = None  # reached once, fallen short again by the end
        obligation.save(update_fields=[*fields, "met_at"])
        events.breaches_created(clocks.breach_obligations([obligation], now=now), now=now)
        result.missed += 1
        return
    if now >= obligation.due_at:
        result.met += short is False and obligation.met_at is None
        fields += _close(obligation, Status.MET if short is False else Status.CANCELLED, now=now)
    elif spec.meets_early and short is False:
        if obligation.met_at is None:
            obligation.met_at = now
            fields.append("met_at")
            result.met += 1
    elif obligation.at_risk_at is None and (
        volume_at_risk(obligation.actual, obligation.target, period.elapsed_fraction(now))
        if spec.paced
        else short
    ):
        obligation.at_risk_at = now
        fields.append("at_risk_at")
        events.quota_at_risk(obligation, now=now)
        result.at_risk += 1
    obligation.save(update_fields=fields)


# Volume periods closed as met before their end (the rule until the count kept running to the
# end): measured again until they end, then closed with their final count.
_UNFINISHED = Q(status=Status.OPEN) | Q(
    status=Status.MET, kind=Commitment.Kind.LEAD_VOLUME, closed_at__lt=F("due_at")
)


def _governing(versions, period: Period, *, now: datetime):
    """The version whose quota terms a period runs under: the one in force at the period's
    start, unless a version that came into force during the period (by `now`) says it
    applies to running periods (the latest such)."""
    governing = in_force(versions, period.start)
    for v in versions:
        if (
            v.applies_to_running_periods
            and period.start < v.effective_at <= now
            and v.in_force_at(now)
            and (governing is None or v.effective_at > governing.effective_at)
        ):
            governing = v
    return governing


def quota_evaluation(*, now: datetime) -> QuotaResult:
    """Put scheduled versions whose date has come in force; open the current period of every
    quota under the terms in force at the period's start (whole periods only: a version
    coming into force mid-period applies from the next period, unless it says it applies
    to running periods); then measure every open period."""
    result = QuotaResult(activated=agreement_versions_activate_due(now=now))
    signed = (
        AgreementVersion.objects.filter(
            status__in=AgreementVersion.SIGNED_STATUSES, effective_at__isnull=False
        )
        .select_related("agreement__calendar", "agreement__marketing_team")
        .prefetch_related(
            Prefetch(
                "commitments",
                queryset=Commitment.objects.filter(kind__in=Commitment.PERIOD_KINDS),
                to_attr="quotas",
            )
        )
        .order_by("agreement_id", "effective_at", "number")
    )
    by_agreement: dict[int, list[AgreementVersion]] = {}
    for version in signed:
        by_agreement.setdefault(version.agreement_id, []).append(version)
    for versions in by_agreement.values():
        if in_force(versions, now) is None:  # retired, or not yet in force: nothing opens
            continue
        tz = ZoneInfo(versions[0].agreement.calendar.timezone)
        for period_kind in Commitment.Period.values:
            period = period_containing(period_kind, now, tz)
            version = _governing(versions, period, now=now)
            if version is None:  # a quota runs for whole periods only
                continue
            for commitment in version.quotas:
                if commitment.period == period_kind:
                    commitment.version = version
                    result.opened.append(_period_obligation(commitment, period).pk)
    # Periods opened under an older version are still judged after it was replaced.
    open_periods = Obligation.objects.filter(_UNFINISHED, lead__isnull=True).values_list(
        "pk", flat=True
    )
    for pk in open_periods:
        with transaction.atomic():
            obligation = (
                Obligation.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("commitment__version__agreement")
                .filter(_UNFINISHED, pk=pk)
                .first()
            )
            if obligation is not None:
                _evaluate(obligation, now=now, result=result)
    return result


def run_all(*, now: datetime) -> list[str]:
    """All checks once, in order; returns the one-line summary of each."""
    return [str(deadline_scan(now=now)), str(quota_evaluation(now=now))]
