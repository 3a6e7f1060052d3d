"""Who sees what and who does what, in one place (docs/security.md has the table).

Everything starts from `visible_team_ids(user)`: the user's own teams, and the teams on the
other side of an agreement **in force** with one of them (a version `active`, i.e. signed by
a manager of each side; a draft, proposed, scheduled or retired agreement links nothing).
Every `*_visible_to` selector and every `can_*` rule used by the pages, the API, the admin,
the imports and the inbound webhooks lives here; services call `require_*` with the acting
user, so no interface decides on its own.

Roles: a member of a sales team is a rep, its manager a sales manager; likewise for
marketing. Staff see and do everything. Anonymous users see nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Exists, OuterRef, Q, QuerySet

from agreements.errors import PermissionDenied, ValidationError
from agreements.models import (
    Agreement,
    AgreementVersion,
    BusinessCalendar,
    Membership,
    Side,
    Team,
)

MANAGER = Membership.Role.MANAGER

# Teams ------------------------------------------------------------------------------------


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def is_staff(user) -> bool:
    return _authenticated(user) and bool(user.is_staff) and user.is_active


def memberships_of(user) -> dict[int, str]:
    """team id → role of the user's memberships."""
    if not _authenticated(user):
        return {}
    return dict(Membership.objects.filter(user=user).values_list("team_id", "role"))


def own_team_ids(user) -> set[int]:
    return set(memberships_of(user))


def managed_team_ids(user) -> set[int]:
    return {t for t, role in memberships_of(user).items() if role == MANAGER}


def agreements_in_force() -> QuerySet[Agreement]:
    """Agreements with an active version: the only ones that link two teams."""
    active = AgreementVersion.objects.filter(
        agreement=OuterRef("pk"), status=AgreementVersion.Status.ACTIVE
    )
    return Agreement.objects.filter(Exists(active))


def _own(user) -> QuerySet:
    """The user's team ids, as a subquery."""
    if not _authenticated(user):
        return Membership.objects.none().values("team_id")
    return Membership.objects.filter(user=user).values("team_id")


def visible_team_ids(user) -> QuerySet:
    """The ids of the user's teams and of their partners across an agreement in force
    (staff: every team), as one lazy query: filter with `team_id__in=visible_team_ids(u)`
    (no extra round trip) or take `set()` of it."""
    if is_staff(user):
        return Team.objects.values_list("pk", flat=True)
    own = _own(user)
    pairs = agreements_in_force().filter(Q(marketing_team_id__in=own) | Q(sales_team_id__in=own))
    return Team.objects.filter(
        Q(pk__in=own)
        | Q(pk__in=pairs.values("marketing_team_id"))
        | Q(pk__in=pairs.values("sales_team_id"))
    ).values_list("pk", flat=True)


def teams_visible_to(user) -> QuerySet[Team]:
    return Team.objects.filter(pk__in=visible_team_ids(user))


def is_manager(user, team) -> bool:
    team_id = getattr(team, "pk", team)
    return team_id is not None and memberships_of(user).get(team_id) == MANAGER


def is_member(user, team) -> bool:
    team_id = getattr(team, "pk", team)
    return team_id is not None and team_id in memberships_of(user)


def member_of_team(team, candidate) -> bool:
    """Whether `candidate` (a user) is an active member of `team`."""
    team_id = getattr(team, "pk", team)
    return (
        candidate is not None
        and team_id is not None
        and candidate.is_active
        and Membership.objects.filter(team_id=team_id, user=candidate).exists()
    )


# Agreements ---------------------------------------------------------------------------------


def agreements_visible_to(user) -> QuerySet[Agreement]:
    """The agreement records (terms, versions, signatures) of the user's own teams, either
    side and in any state: a draft or proposal must reach the other side's manager to be
    signed. A record names the teams; their data stays hidden until the agreement is in
    force (see `agreements_with_data_visible_to`)."""
    qs = Agreement.objects.select_related("calendar", "marketing_team", "sales_team")
    if is_staff(user):
        return qs.all()
    own = _own(user)
    return qs.filter(Q(marketing_team_id__in=own) | Q(sales_team_id__in=own))


def agreements_with_data_visible_to(user) -> QuerySet[Agreement]:
    """Agreements whose figures (reports, homes, scorecard, goals) the user may read: one of
    his teams is a side, and its sales team (whose leads the figures count) is visible to
    him: members of the sales team always, the marketing side while it is in force."""
    if is_staff(user):
        return agreements_visible_to(user)
    return agreements_visible_to(user).filter(sales_team_id__in=visible_team_ids(user))


def manager_sides(user, agreement) -> set[str]:
    """The sides of `agreement` ("marketing", "sales") that `user` manages."""
    managed = managed_team_ids(user)
    sides = set()
    if agreement.marketing_team_id in managed:
        sides.add(Side.MARKETING)
    if agreement.sales_team_id in managed:
        sides.add(Side.SALES)
    return sides


def require_agreement_manager(user, agreement) -> None:
    """Changing an agreement (drafts, commitments, goals) is for staff and the managers of
    either of its teams; signing stays per side (`agreement_version_sign`)."""
    if not (is_staff(user) or manager_sides(user, agreement)):
        raise PermissionDenied("Only a manager of either team changes the agreement.")


def can_replay_version(user, version) -> bool:
    """A what-if replay of a version's terms reads both sides' history: staff and the
    managers of either team of its agreement."""
    return is_staff(user) or bool(manager_sides(user, version.agreement))


def can_comment_on_terms(user, agreement) -> bool:
    """Both sides argue an amendment: staff and every member of either team comment on its
    terms (only managers change or sign them)."""
    if is_staff(user):
        return True
    own = set(_own(user).values_list("team_id", flat=True))
    return agreement.marketing_team_id in own or agreement.sales_team_id in own


def awaiting_signature_of(user) -> QuerySet:
    """The proposed versions a side the user manages has not signed yet (his to sign), in
    one query."""
    from agreements.models import AgreementVersion, Signature

    managers = Membership.objects.filter(user_id=user.pk, role=MANAGER)
    marketing = Exists(managers.filter(team_id=OuterRef("agreement__marketing_team_id"))) & ~Exists(
        Signature.objects.filter(version=OuterRef("pk"), side=Side.MARKETING)
    )
    sales = Exists(managers.filter(team_id=OuterRef("agreement__sales_team_id"))) & ~Exists(
        Signature.objects.filter(version=OuterRef("pk"), side=Side.SALES)
    )
    return (
        AgreementVersion.objects.filter(status=AgreementVersion.Status.PROPOSED)
        .filter(marketing | sales)
        .select_related("agreement")
        .order_by("proposed_at")
    )


def require_agreement_create(user, *, marketing_team, sales_team, calendar) -> None:
    """Starting an agreement: staff, or a manager of one of the two teams, with a calendar
    of his own teams. The other side takes part by signing: until both have signed, the
    agreement links no data (see `visible_team_ids`)."""
    if is_staff(user):
        return
    if not (is_manager(user, marketing_team) or is_manager(user, sales_team)):
        raise PermissionDenied("Only a manager of one of the two teams starts an agreement.")
    if calendar is not None and not calendars_visible_to(user).filter(pk=calendar.pk).exists():
        raise ValidationError({"calendar": f'Invalid pk "{calendar.pk}" - object does not exist.'})


def require_goal_owner(agreement, owner) -> None:
    """A goal's owner is a member of one of the agreement's two teams."""
    if owner is None:
        return
    if not (
        member_of_team(agreement.marketing_team_id, owner)
        or member_of_team(agreement.sales_team_id, owner)
    ):
        raise ValidationError({"owner": "The owner must be a member of the agreement's teams."})


def require_agreement_member(user, agreement) -> None:
    """Checking in on a goal is for staff and every member of either team."""
    if not can_comment_on_terms(user, agreement):
        raise PermissionDenied("Only members of the agreement's teams check in on its goals.")


# Reviews ------------------------------------------------------------------------------------
# A joint review is held by the managers of either side (and staff): the same people who
# change the agreement (`require_agreement_manager`). Its action items go to members of
# either team; an item is marked done by its owner, or by a manager of either side.


def can_manage_agreement(user, agreement) -> bool:
    """Staff and the managers of either team: change terms and goals, hold reviews."""
    return is_staff(user) or bool(manager_sides(user, agreement))


def require_action_item_owner(agreement, owner) -> None:
    if owner is None or not (
        member_of_team(agreement.marketing_team_id, owner)
        or member_of_team(agreement.sales_team_id, owner)
    ):
        raise ValidationError({"owner": "The owner must be a member of the agreement's teams."})


def can_finish_action_item(user, item) -> bool:
    agreement = item.review.agreement
    return _authenticated(user) and (
        item.owner_id == user.pk or is_staff(user) or bool(manager_sides(user, agreement))
    )


def reviews_visible_to(user) -> QuerySet:
    """Reviews of the agreements whose figures the user may read (their agenda is figures)."""
    from agreements.models import Review

    return Review.objects.filter(agreement__in=agreements_with_data_visible_to(user))


# Calendars --------------------------------------------------------------------------------


def calendars_visible_to(user) -> QuerySet[BusinessCalendar]:
    """Calendars of the teams visible to the user and of the agreements whose data he sees."""
    if is_staff(user):
        return BusinessCalendar.objects.all()
    teams = visible_team_ids(user)
    agreements = agreements_with_data_visible_to(user).values("calendar_id")
    return BusinessCalendar.objects.filter(Q(teams__in=teams) | Q(pk__in=agreements)).distinct()


def calendar_teams(calendar_ids) -> dict[int, set[int]]:
    """calendar id → every team whose clocks it moves: the teams it belongs to and both
    sides of the agreements that use it (one query)."""
    own = Team.objects.filter(calendar_id__in=calendar_ids).values_list("calendar_id", "pk")
    used = Agreement.objects.filter(calendar_id__in=calendar_ids)
    rows = own.union(
        used.values_list("calendar_id", "marketing_team_id"),
        used.values_list("calendar_id", "sales_team_id"),
    )
    teams: dict[int, set[int]] = {pk: set() for pk in calendar_ids}
    for calendar_id, team_id in rows:
        teams[calendar_id].add(team_id)
    return teams


def editable_calendar_ids(user, calendar_ids) -> set[int]:
    """Of these calendars, the ones whose holidays and hours the user may change: staff all;
    a manager of a team that a calendar moves, when every team it moves is visible to him
    (a calendar shared with a team outside his agreements in force is staff's)."""
    calendar_ids = list(calendar_ids)
    if is_staff(user):
        return set(calendar_ids)
    managed = managed_team_ids(user)
    if not managed or not calendar_ids:
        return set()
    using = calendar_teams(calendar_ids)
    visible = set(visible_team_ids(user))
    return {pk for pk, teams in using.items() if teams & managed and teams <= visible}


def can_edit_calendar(user, calendar) -> bool:
    return calendar.pk in editable_calendar_ids(user, [calendar.pk])


# Rejection reasons --------------------------------------------------------------------------


def reason_team_ids(user) -> set[int]:
    """The sales teams whose rejection reasons `user` keeps: those he manages."""
    return set(
        Membership.objects.filter(user=user, role=MANAGER, team__side=Side.SALES).values_list(
            "team_id", flat=True
        )
    )


def can_edit_rejection_reasons(user) -> bool:
    """Staff keep the list for every sales team; a sales manager keeps his team's."""
    return is_staff(user) or bool(reason_team_ids(user))


def can_change_rejection_reason(user, reason) -> bool:
    """A team's reason: staff or a manager of that team; a reason for every team: staff."""
    if is_staff(user):
        return True
    return reason.team_id is not None and reason.team_id in reason_team_ids(user)


def rejection_reasons_visible_to(user):
    """The reasons of the user's own sales teams and those for every team; staff: all."""
    from agreements.models import RejectionReason

    if is_staff(user):
        return RejectionReason.objects.select_related("team")
    own = Membership.objects.filter(user=user, team__side=Side.SALES).values("team_id")
    return RejectionReason.objects.filter(Q(team__isnull=True) | Q(team_id__in=own)).select_related(
        "team"
    )


def rejection_reasons_for(team_ids):
    """The active reasons a lead of these sales teams may be rejected with."""
    from agreements.models import RejectionReason

    return RejectionReason.objects.filter(
        Q(team__isnull=True) | Q(team_id__in=list(team_ids)), is_active=True
    )


# Leads, clocks, breaches --------------------------------------------------------------------


def leads_visible_to(user):
    """Leads routed to a visible sales team, and those of the user's own marketing teams."""
    from leads.models import Lead

    if is_staff(user):
        return Lead.objects.all()
    visible, own = visible_team_ids(user), _own(user)
    return Lead.objects.filter(Q(sales_team_id__in=visible) | Q(marketing_team_id__in=own))


def obligations_visible_to(user):
    from leads.models import Obligation

    if is_staff(user):
        return Obligation.objects.all()
    visible, own = visible_team_ids(user), _own(user)
    return Obligation.objects.filter(Q(team_id__in=visible) | Q(lead__marketing_team_id__in=own))


def breaches_visible_to(user):
    """Both sides of an agreement in force see its breaches (mutual visibility)."""
    from leads.models import Breach

    if is_staff(user):
        return Breach.objects.all()
    visible, own = visible_team_ids(user), _own(user)
    return Breach.objects.filter(Q(team_id__in=visible) | Q(lead__marketing_team_id__in=own))


def _memberships(user, memberships: Mapping[int, str] | None) -> Mapping[int, str]:
    return memberships_of(user) if memberships is None else memberships


def can_work_lead(user, lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Log touches, accept or reject: staff, or a member of the lead's sales team."""
    if is_staff(user):
        return True
    return lead.sales_team_id is not None and lead.sales_team_id in _memberships(user, memberships)


def can_manage_lead(user, lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Reassign: staff, or a manager of the lead's sales team."""
    if is_staff(user):
        return True
    return _memberships(user, memberships).get(lead.sales_team_id) == MANAGER


def can_edit_lead(user, lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Change its details, hand it off or move its stage: staff, or a member of either of
    the lead's teams (marketing hands off and recycles, sales converts)."""
    if is_staff(user):
        return True
    return bool({lead.sales_team_id, lead.marketing_team_id} & set(_memberships(user, memberships)))


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def require_routing(user, *, sales_team, marketing_team) -> None:
    """Creating (or re-routing) a lead: only to teams visible to the user (his own, or a
    partner across an agreement in force); a team outside them reads as unknown."""
    if is_staff(user):
        return
    visible = set(visible_team_ids(user))
    errors = {}
    for key, team in (("sales_team", sales_team), ("marketing_team", marketing_team)):
        if team is not None and team.pk not in visible:
            errors[key] = f'Invalid pk "{team.pk}" - object does not exist.'
    if errors:
        raise ValidationError(errors)
    if sales_team is None and marketing_team is None:
        raise ValidationError({"sales_team": "Choose the sales team (or marketing team)."})


def default_marketing_team(user) -> Team | None:
    """The marketing team of a lead that `user` creates without naming one: his marketing
    team when he has exactly one; None when he has none (sales, integrations). With several
    the choice is his: a ValidationError naming `marketing_team`."""
    if not _authenticated(user):
        return None
    teams = list(Team.objects.filter(side=Side.MARKETING, memberships__user=user)[:2])
    if len(teams) > 1:
        raise ValidationError(
            {"marketing_team": "You are in several marketing teams: choose the lead's one."}
        )
    return teams[0] if teams else None


def require_owner(sales_team, owner) -> None:
    """A lead's owner is an active member of its sales team."""
    if owner is None or sales_team is None:
        return
    if not member_of_team(sales_team, owner):
        raise ValidationError({"owner": "The owner must be a member of the lead's sales team."})


def owner_by_email(email: str, *, sales_team):
    """The active member of `sales_team` with this email; the same error for an unknown
    address and for one outside the team (no hint about who exists elsewhere)."""
    from django.contrib.auth import get_user_model

    owner = None
    if sales_team is not None:
        owner = (
            get_user_model()
            .objects.filter(email__iexact=email, is_active=True, memberships__team_id=sales_team.pk)
            .order_by("pk")
            .first()
        )
    if owner is None:
        raise ValidationError({"owner_email": "No member of the lead's sales team has this email."})
    return owner


def _folded_name(name: str) -> str:
    return " ".join((name or "").split()).casefold()


def owner_by_name(name: str, *, sales_team):
    """The active member of `sales_team` with this full name (first and last name, as a CRM
    export writes it; case and spaces do not matter). No such member, or two of them: a
    ValidationError on `owner_name` (the same for a name only known outside the team)."""
    from django.contrib.auth import get_user_model

    wanted = _folded_name(name)
    found = []
    if sales_team is not None and wanted:
        members = get_user_model().objects.filter(
            is_active=True, memberships__team_id=sales_team.pk
        )
        found = [u for u in members.order_by("pk") if _folded_name(u.get_full_name()) == wanted]
    if not found:
        raise ValidationError(
            {"owner_name": f"No member of the lead's sales team is called {name.strip()!r}."}
        )
    if len(found) > 1:
        raise ValidationError(
            {
                "owner_name": f"{len(found)} members of the lead's sales team are called "
                f"{name.strip()!r}: give the owner's email instead."
            }
        )
    return found[0]


def require_actor(user, *, lead, actor) -> None:
    """A touch is logged as the caller; as somebody else only by staff or a manager of the
    lead's sales team (an integration acting for the team), and always as a member of that
    team (`user` None: a trusted system path, e.g. an inbound source with no run-as user)."""
    if actor is None or (user is not None and actor.pk == getattr(user, "pk", None)):
        return
    if user is not None and not (is_staff(user) or can_manage_lead(user, lead)):
        raise PermissionDenied("You log touches as yourself.")
    if not member_of_team(lead.sales_team_id, actor):
        raise ValidationError(
            {"user": "The touch's user must be a member of the lead's sales team."}
        )


def require_stage_change(user, lead, stage: str, *, creating: bool = False) -> None:
    """Accepting and rejecting are sales' (members of the lead's sales team); the other
    stages belong to either of the lead's teams, or to whoever creates the lead (its first
    stage is part of creating it)."""
    from leads.models import Stage

    if stage in (Stage.REJECTED, Stage.SAL):
        require(can_work_lead(user, lead), "Only sales accepts or rejects a lead.")
    elif not creating:
        require(can_edit_lead(user, lead), "Only the lead's teams move it.")


def can_answer_breach(user, breach, memberships: Mapping[int, str] | None = None) -> bool:
    """Acknowledge or dispute: staff, the breached user (a member of the breached team) or
    a manager of the breached team."""
    if is_staff(user):
        return True
    roles = _memberships(user, memberships)
    breached_user = _authenticated(user) and breach.user_id == user.pk
    return breach.team_id in roles and (breached_user or roles[breach.team_id] == MANAGER)


def breaches_mine(user) -> Q:
    """The breaches that are the user's to act on (the breach inbox's "mine"): those
    attributed to him, his managed teams' (to answer) and, as a manager of the other side
    of their agreement, those he resolves."""
    if not _authenticated(user):
        return Q(pk__in=[])
    managed = Membership.objects.filter(user=user, role=MANAGER).values("team_id")
    agreement = "obligation__agreement_version__agreement"
    return (
        Q(user_id=user.pk)
        | Q(team_id__in=managed)
        | Q(side=Side.SALES, **{f"{agreement}__marketing_team_id__in": managed})
        | Q(side=Side.MARKETING, **{f"{agreement}__sales_team_id__in": managed})
    )


def breach_rights(user, breach, memberships: Mapping[int, str] | None = None) -> dict:
    """Who may do what with a breach: the breached user or a manager of the breached team
    answers it (acknowledges, disputes); a manager of the other side of the agreement
    resolves it; staff may do both."""
    agreement = breach.obligation.agreement_version.agreement
    other = agreement.marketing_team if breach.side == Side.SALES else agreement.sales_team
    roles = _memberships(user, memberships)
    return {
        "can_answer": can_answer_breach(user, breach, roles),
        "can_resolve": is_staff(user) or roles.get(other.pk) == MANAGER,
        "other_team": other,
    }


# Contesting a rejection ---------------------------------------------------------------------


def can_contest_rejection(user, lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Contest a sales rejection: staff, or a manager of the lead's marketing team."""
    if is_staff(user):
        return True
    return (
        lead.marketing_team_id is not None
        and _memberships(user, memberships).get(lead.marketing_team_id) == MANAGER
    )


def can_decide_contest(user, lead, memberships: Mapping[int, str] | None = None) -> bool:
    """Uphold a contested rejection or return the lead to its rep: staff, or a manager of
    the lead's sales team."""
    return can_manage_lead(user, lead, memberships)


def contests_visible_to(user):
    """Contests of the leads the user sees: both sides see the contest and its decision."""
    from leads.models import RejectionContest

    return RejectionContest.objects.filter(lead__in=leads_visible_to(user))


def contests_to_decide(user):
    """Undecided contests of leads whose sales team the user manages (staff: all)."""
    from leads.models import RejectionContest

    undecided = RejectionContest.objects.filter(decision="")
    if is_staff(user):
        return undecided
    managed = Membership.objects.filter(user=user, role=MANAGER).values("team_id")
    return undecided.filter(lead__sales_team_id__in=managed)


# Imports ------------------------------------------------------------------------------------


def imports_visible_to(user):
    """A CSV import is its uploader's (its rows may touch leads of several teams); staff
    see every one."""
    from integrations.models import Import

    if is_staff(user):
        return Import.objects.all()
    if not _authenticated(user):
        return Import.objects.none()
    return Import.objects.filter(user=user)


# Memberships --------------------------------------------------------------------------------


def require_team_manager(user, team) -> None:
    if not (is_staff(user) or is_manager(user, team)):
        raise PermissionDenied("Only a manager of this team changes its members.")


def can_change_members(user, team) -> bool:
    """Invite people, change roles, remove members: staff or a manager of the team."""
    return is_staff(user) or is_manager(user, team)


# First-run setup, invitations, inbound webhook sources ------------------------------------


def can_run_setup(user) -> bool:
    """The first-run setup is staff's, and only while there is no team at all (afterwards
    teams, people and agreements change on their own pages)."""
    return is_staff(user) and not Team.objects.exists()


def can_manage_webhook_sources(user) -> bool:
    """Inbound sources write leads into any team (and may act as any user): staff's."""
    return is_staff(user)


# CRM connectors ----------------------------------------------------------------------------


def can_configure_connectors(user) -> bool:
    """Open the connectors page and set one up: staff, or a manager of any team (sales ops
    and marketing ops run the CRM for their team)."""
    return is_staff(user) or bool(managed_team_ids(user))


def can_configure_connector(user, connector) -> bool:
    """Change, sync or read the log of one connector: staff, or a manager of its sales or
    marketing team."""
    if is_staff(user):
        return True
    return bool({connector.sales_team_id, connector.marketing_team_id} & managed_team_ids(user))


# Team chat channels (alerts) ---------------------------------------------------------------


def can_set_team_channel(user, team) -> bool:
    """Post a team's breaches and warnings to a Slack or Teams channel: staff, or a manager
    of that team."""
    return is_staff(user) or is_manager(user, team)


def team_channel_team_ids(user) -> set[int]:
    """The teams whose chat channel the user may set (every team for staff)."""
    if is_staff(user):
        return set(Team.objects.values_list("pk", flat=True))
    return managed_team_ids(user)


# What a user may do, for "who am I" (GET /api/v1/me/) ----------------------------------


ROLE_NAMES = {
    (Side.SALES, Membership.Role.MEMBER): "rep",
    (Side.SALES, MANAGER): "sales_manager",
    (Side.MARKETING, Membership.Role.MEMBER): "marketer",
    (Side.MARKETING, MANAGER): "marketing_manager",
}


def rights_of(user) -> dict:
    """The user's teams with his role and what he may do with the leads, members and
    agreements of each, his roles, and what he may do anywhere: every answer is one of
    this module's rules, asked about a lead of that team (no rule restated here)."""
    from types import SimpleNamespace

    roles = memberships_of(user)
    teams = []
    for team in Team.objects.filter(pk__in=list(roles)).order_by("side", "name"):
        lead = SimpleNamespace(
            sales_team_id=team.pk if team.side == Side.SALES else None,
            marketing_team_id=team.pk if team.side == Side.MARKETING else None,
        )
        teams.append(
            {
                "team": team,
                "role": roles[team.pk],
                "can": {
                    "work_leads": can_work_lead(user, lead, roles),
                    "edit_leads": can_edit_lead(user, lead, roles),
                    "reassign_leads": can_manage_lead(user, lead, roles),
                    "contest_rejections": can_contest_rejection(user, lead, roles),
                    "change_members": can_change_members(user, team),
                    "sign_agreements": is_manager(user, team),
                },
            }
        )
    names = {ROLE_NAMES[(t["team"].side, t["role"])] for t in teams}
    if is_staff(user):
        names.add("staff")
    return {
        "teams": teams,
        "roles": sorted(names),
        "can": {
            "see_everything": is_staff(user),
            "run_setup": can_run_setup(user),
            "edit_rejection_reasons": can_edit_rejection_reasons(user),
            "configure_connectors": can_configure_connectors(user),
            "manage_webhook_sources": can_manage_webhook_sources(user),
        },
    }
