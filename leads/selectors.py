"""Reads on leads and clocks that other parts share (checks, reports, API, pages)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, F, Min, OuterRef, Prefetch, Q, QuerySet, Subquery

from agreements.models import Agreement, Commitment, Membership, Team
from leads.models import CLOSED_STAGES, Breach, Lead, Obligation, StageEvent, stages_at_or_beyond


def agreement_leads(agreement: Agreement) -> QuerySet[Lead]:
    """The leads an agreement covers: those routed to its sales team."""
    return Lead.objects.filter(sales_team_id=agreement.sales_team_id)


def leads_reaching_stage(
    agreement: Agreement, stage: str, start: datetime, end: datetime
) -> QuerySet:
    """Leads that first reached `stage` (or a later funnel stage) within [start, end).

    A lead that skips a stage (MQL straight to SQL) counts as having passed it; a lead is
    counted once, in the period it first got there. Only leads with such an event inside
    the period are considered, so the work is bounded by the period, not the history.
    """
    later = stages_at_or_beyond(stage)
    in_period = StageEvent.objects.filter(
        to_stage__in=later, occurred_at__gte=start, occurred_at__lt=end
    ).values("lead_id")
    return (
        StageEvent.objects.filter(
            lead__sales_team_id=agreement.sales_team_id,
            to_stage__in=later,
            lead_id__in=in_period,
        )
        .values("lead_id")
        .annotate(first_reached=Min("occurred_at"))
        .filter(first_reached__gte=start, first_reached__lt=end)
    )


def reaching_stage_per_day_sql(
    agreement: Agreement, stage: str, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[str, list]:
    """SQL of (day, leads): `leads_reaching_stage` counted per local day (in `tz`) of the
    moment each lead first got there. The rollup of closed days (`ReachDay`) and a running
    quota's live rest are both counted by it."""
    inner, params = leads_reaching_stage(agreement, stage, start, end).query.sql_with_params()
    sql = (
        "SELECT (first_reached AT TIME ZONE %s)::date AS day, COUNT(*) AS leads"  # nosec B608 # SQL is ORM-compiled, values are params
        f" FROM ({inner}) r GROUP BY 1"
    )
    return sql, [str(tz), *params]


# A stage event that returned a contested rejection to the rep: the rejection is taken back
# on the day of the return (docs/metrics.md).
RETURNED = Q(contest_return__isnull=False)
ACCEPTED = Q(to_stage="sal")
REJECTED = Q(to_stage="rejected")


def dispositions(leads: QuerySet[Lead], start: datetime, end: datetime) -> QuerySet[StageEvent]:
    """Acceptances (events to SAL), rejections (events to rejected) and returns of contested
    rejections of `leads` within [start, end). Events, not the lead's current fields: a
    rejected lead that was recycled and handed off again keeps its rejection in the period
    it happened; a rejection returned to the rep counts −1 in the period of the return.
    Count rejections as REJECTED minus RETURNED."""
    return StageEvent.objects.filter(
        ACCEPTED | REJECTED | RETURNED,
        occurred_at__gte=start,
        occurred_at__lt=end,
        lead__in=leads,
    )


def dispositions_in(agreement: Agreement, start: datetime, end: datetime) -> tuple[int, int]:
    """(accepted, rejected) counts of the agreement's leads dispositioned in [start, end):
    rejections net of the returns in the range (never below zero)."""
    counts = dispositions(agreement_leads(agreement), start, end).aggregate(
        accepted=Count("id", filter=ACCEPTED),
        rejected=Count("id", filter=REJECTED),
        returned=Count("id", filter=RETURNED),
    )
    return counts["accepted"], max(counts["rejected"] - counts["returned"], 0)


def open_obligations_due(now: datetime) -> QuerySet[Obligation]:
    """Lead clocks past their due time and still open (served by the partial index)."""
    return Obligation.objects.filter(
        status=Obligation.Status.OPEN, due_at__lte=now, lead__isnull=False
    )


def open_obligations_to_warn(now: datetime) -> QuerySet[Obligation]:
    return Obligation.objects.filter(
        status=Obligation.Status.OPEN,
        warned_at__isnull=True,
        warn_at__lte=now,
        due_at__gt=now,
        lead__isnull=False,
    )


# What a rep owes ------------------------------------------------------------------------


def _owed() -> QuerySet[Obligation]:
    return Obligation.objects.filter(status__in=Obligation.OWED, done_at__isnull=True)


def _owed_clocks() -> Prefetch:
    return Prefetch("obligations", queryset=_owed().order_by("due_at", "id"), to_attr="open_clocks")


def queue_leads(user) -> QuerySet[Lead]:
    """Everything `user` owes until it is done: the leads he owns with a running clock, or
    a missed one whose touch or decision is still owed (also when the lead came to him after
    its deadline), the most overdue first, then the least time left. Each lead carries
    `open_clocks` (the owed clocks, due order) and `next_due`."""
    next_due = _owed().filter(lead=OuterRef("pk")).order_by("due_at").values("due_at")[:1]
    return (
        Lead.objects.filter(owner=user)
        .annotate(next_due=Subquery(next_due))
        .filter(next_due__isnull=False)
        .order_by("next_due", "id")
        .prefetch_related(_owed_clocks())
    )


def queue_lead(lead_id: int, user) -> Lead | None:
    """One lead as the queue shows it (after an action on its row)."""
    return Lead.objects.prefetch_related(_owed_clocks()).filter(pk=lead_id).first()


def local_day(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """Midnight to midnight of `now`'s date in time zone `tz`."""
    local = now.astimezone(ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)  # wall-clock: the next local midnight


def follow_ups_due(user, *, now: datetime, tz: str) -> QuerySet[Obligation]:
    """Follow-up attempts `user` owes that fall due before the end of today (missed ones
    still owed included)."""
    _, end = local_day(now, tz)
    return (
        _owed()
        .filter(lead__owner=user, kind=Commitment.Kind.FOLLOW_UP, due_at__lt=end)
        .select_related("lead")
        .order_by("due_at")
    )


def leads_nobody_owes(teams) -> QuerySet[Lead]:
    """Handed-off leads of `teams` still open with nobody to work them: no owner, or an
    owner who left the team or was deactivated; the oldest hand-off first."""
    member = Membership.objects.filter(
        team_id=OuterRef("sales_team_id"), user_id=OuterRef("owner_id")
    )
    return (
        Lead.objects.filter(sales_team__in=teams, handed_off_at__isnull=False)
        .exclude(stage__in=CLOSED_STAGES)
        .filter(Q(owner__isnull=True) | Q(owner__is_active=False) | ~Exists(member))
        .select_related("owner")
        .order_by("handed_off_at", "id")
    )


def breaches_to_acknowledge(teams: list[Team]) -> QuerySet[Breach]:
    """Open breaches of `teams`, the most recent first."""
    return (
        Breach.objects.filter(team__in=teams, status=Breach.Status.OPEN)
        .select_related("lead", "user")
        .order_by("-due_at", "-id")
    )


def breaches_filtered(
    breaches: QuerySet[Breach],
    *,
    side: str = "",
    team: Team | None = None,
    status: str = "",
    rep=None,
    clause=None,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
    mine: Q | None = None,
) -> QuerySet[Breach]:
    """The breach inbox's filters: side, team, status, the rep it is attributed to, the
    promise (a commitment's clause, the same across versions), due in [due_from,
    due_before), and `mine` (`access.breaches_mine`)."""
    lookups = {
        "side": side,
        "team": team,
        "status": status,
        "user": rep,
        "obligation__commitment__clause": clause,
        "due_at__gte": due_from,
        "due_at__lt": due_before,
    }
    breaches = breaches.filter(**{k: v for k, v in lookups.items() if v})
    return breaches.filter(mine) if mine is not None else breaches


def breach_reps(user) -> QuerySet:
    """The people the breaches visible to `user` are attributed to (the rep filter)."""
    from django.contrib.auth import get_user_model

    from agreements.access import breaches_visible_to

    attributed = breaches_visible_to(user).filter(user__isnull=False).values("user_id")
    return get_user_model().objects.filter(pk__in=attributed).order_by("username")


def breach_status_counts(breaches: QuerySet[Breach]) -> dict[str, int]:
    """status → number of these breaches (one query)."""
    counts = dict(breaches.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in Breach.Status.values}


def breach_promises(agreements: QuerySet[Agreement]) -> list[tuple[str, Commitment]]:
    """(clause, its newest wording) of every commitment of these agreements, in the order
    of the agreement and the clause's place in its newest version (one query)."""
    newest: dict[str, Commitment] = {}
    rows = Commitment.objects.filter(version__agreement__in=agreements).order_by(
        "version__agreement_id", "-version__number", "order", "id"
    )
    for commitment in rows:
        newest.setdefault(str(commitment.clause), commitment)
    return list(newest.items())


def handed_off_between(agreement: Agreement, start: datetime, end: datetime) -> QuerySet[Lead]:
    return (
        Lead.objects.filter(
            sales_team_id=agreement.sales_team_id,
            handed_off_at__gte=start,
            handed_off_at__lt=end,
        )
        .select_related("owner")
        .order_by("-handed_off_at", "-id")
    )


# The lead list ----------------------------------------------------------------------------

# A lead's SLA state, from its clocks (docs/clocks.md): `running` has a clock still owed
# and not yet due; `overdue` a clock still owed past its due time (open and waiting for the
# deadline scan, or missed and its touch or decision still owed: the queue's overdue);
# `breached` a clock that was missed (a waived miss does not count); `met` clocks of which
# none is owed or missed and one at least was met.
SLA_STATES = [
    ("running", "Running"),
    ("overdue", "Overdue"),
    ("breached", "Breached"),
    ("met", "Met"),
]


def sla_state_filter(state: str, *, now: datetime) -> Q:
    """The leads in this SLA state at `now`, as a filter on Lead."""
    owed = _owed().filter(lead=OuterRef("pk"))
    breached = Obligation.objects.filter(lead=OuterRef("pk"), status=Obligation.Status.BREACHED)
    met = Obligation.objects.filter(lead=OuterRef("pk"), status=Obligation.Status.MET)
    if state == "running":
        return Q(Exists(owed.filter(status=Obligation.Status.OPEN, due_at__gt=now)))
    if state == "overdue":
        return Q(Exists(owed.filter(due_at__lte=now)))
    if state == "breached":
        return Q(Exists(breached))
    if state == "met":
        return Q(Exists(met)) & ~Q(Exists(owed)) & ~Q(Exists(breached))
    raise ValueError(f"unknown SLA state {state!r}")


# sort key → ordering; the id last keeps pages stable.
LEAD_SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "company": ("company", "id"),
    "stage": ("stage", "id"),
    "-handed_off": (F("handed_off_at").desc(nulls_last=True), "-id"),
    "handed_off": (F("handed_off_at").asc(nulls_last=True), "id"),
    "next_due": (F("next_due").asc(nulls_last=True), "id"),
}
DEFAULT_LEAD_SORT = "-created"


def lead_list(user, *, now: datetime, filters: dict | None = None) -> QuerySet[Lead]:
    """The leads `user` sees (agreements.access), searched, filtered and sorted.

    `filters` (all optional): `q` (a part of the name, company or email, or the external
    id), `stage`, `owner` (a user, or "none": unassigned), `team` (either of the lead's
    teams), `tier`, `source`, `campaign` (exact, any case), `state` (SLA_STATES), `sort`
    (LEAD_SORTS). Each lead carries `next_due`: the earliest due time of a clock still owed."""
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    next_due = _owed().filter(lead=OuterRef("pk")).order_by("due_at").values("due_at")[:1]
    leads = leads_visible_to(user).annotate(next_due=Subquery(next_due))
    if q := str(f.get("q", "")).strip():
        leads = leads.filter(
            Q(name__icontains=q)
            | Q(company__icontains=q)
            | Q(email__icontains=q)
            | Q(external_id=q)
        )
    if "stage" in f:
        leads = leads.filter(stage=f["stage"])
    if f.get("owner") == "none":
        leads = leads.filter(owner__isnull=True)
    elif "owner" in f:
        leads = leads.filter(owner=f["owner"])
    if "team" in f:
        leads = leads.filter(Q(sales_team=f["team"]) | Q(marketing_team=f["team"]))
    for key, column in (("tier", "tier"), ("source", "lead_source"), ("campaign", "campaign")):
        if key in f:
            leads = leads.filter(**{f"{column}__iexact": f[key]})
    if "state" in f:
        leads = leads.filter(sla_state_filter(f["state"], now=now))
    return leads.order_by(*LEAD_SORTS.get(f.get("sort", ""), LEAD_SORTS[DEFAULT_LEAD_SORT]))


# Visibility and breach rights live in agreements.access (one place for every interface).

from agreements.access import (  # noqa: E402
    breach_rights,
    breaches_visible_to,
    leads_visible_to,
    obligations_visible_to,
)

__all__ = [
    "breach_rights",
    "breaches_visible_to",
    "leads_visible_to",
    "obligations_visible_to",
]


def people_on_teams(team_ids) -> QuerySet:
    """The active members of these teams, by name (the list's owner filter, the form)."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__team_id__in=team_ids)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def assignable_people(user) -> QuerySet:
    """Whom `user` may give leads to: the members of the sales teams he manages (staff: of
    every sales team). Whether a given lead may go to one is the bulk service's check."""
    from agreements import access
    from agreements.models import Side

    sales = Team.objects.filter(side=Side.SALES)
    if not access.is_staff(user):
        sales = sales.filter(memberships__user=user, memberships__role=Membership.Role.MANAGER)
    return people_on_teams(sales.values("pk"))
