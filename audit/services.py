"""Writing and reading the audit log."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import QuerySet

from audit.context import current_user
from audit.models import AuditEvent

# Never copied into the log, whatever a caller passes.
SECRET_KEYS = {"secret", "key", "raw_key", "key_hash", "password", "token"}
MAX_TEXT = 300


def _plain(value: Any) -> Any:
    """`value` as short JSON data: models by id, long texts cut, secrets left out."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if str(k) not in SECRET_KEYS}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(v) for v in items]
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _agreement_teams(agreement_id) -> list[int]:
    from agreements.models import Agreement

    row = (
        Agreement.objects.filter(pk=agreement_id)
        .values_list("marketing_team_id", "sales_team_id")
        .first()
    )
    return list(row) if row else []


def _user_teams(user_id) -> list[int]:
    from agreements.models import Membership

    return list(Membership.objects.filter(user_id=user_id).values_list("team_id", flat=True))


def teams_of(obj: models.Model) -> list[int]:
    """The teams whose managers see a change to `obj`: both sides of an agreement, a
    breach's team and both sides of its agreement, a member's team, the lead's sales team
    of an undone touch, the owner's teams of a token or a webhook."""
    label = obj._meta.label_lower
    if label == "agreements.agreementversion":
        return _agreement_teams(obj.agreement_id)
    if label == "agreements.commitment":
        return _agreement_teams(obj.version.agreement_id)
    if label == "agreements.membership":
        return [obj.team_id]
    if label == "leads.breach":
        from leads.models import Obligation

        agreement_id = (
            Obligation.objects.filter(pk=obj.obligation_id)
            .values_list("agreement_version__agreement_id", flat=True)
            .first()
        )
        return sorted({obj.team_id, *_agreement_teams(agreement_id)})
    if label == "leads.activityundo":
        return [obj.lead.sales_team_id] if obj.lead.sales_team_id else []
    if label == "integrations.apitoken":
        return _user_teams(obj.user_id)
    if label == "integrations.webhooksubscription":
        return _user_teams(obj.owner_id)
    if obj._meta.label == settings.AUTH_USER_MODEL:
        return _user_teams(obj.pk)
    return []


def record(action: str, obj: models.Model, *, user=None, changes=None, teams=None) -> AuditEvent:
    """Log `action` on `obj` by `user` (else the request's signed-in user, else the
    system), with a short JSON of what changed. Call it inside the service's transaction,
    before a deletion (so the object's id and name are still there)."""
    actor = user if user is not None else current_user()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    event = AuditEvent.objects.create(
        action=str(action),
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk) if obj.pk is not None else "",
        object_repr=str(obj)[:200],
        changes=_plain(changes or {}),
    )
    team_ids = [t for t in (teams if teams is not None else teams_of(obj)) if t]
    if team_ids:
        event.teams.set(team_ids)
    return event


def record_many(
    action: str, objs: list[models.Model], *, user, changes=None, teams: dict
) -> list[AuditEvent]:
    """`record` for many objects of one action in two queries (a bulk action): `teams`
    maps each object's pk to the teams whose managers see it."""
    if not getattr(user, "is_authenticated", False):
        user = None
    events = AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action=str(action),
                actor=user,
                actor_name=user.get_username() if user is not None else "",
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                changes=_plain(changes or {}),
            )
            for obj in objs
        ]
    )
    through = AuditEvent.teams.through
    through.objects.bulk_create(
        [
            through(auditevent_id=event.pk, team_id=team_id)
            for event, obj in zip(events, objs, strict=True)
            for team_id in sorted({t for t in teams.get(obj.pk, ()) if t})
        ]
    )
    return events


def events_visible_to(user) -> QuerySet[AuditEvent]:
    """Staff: every event; a manager: the events of the teams they manage; others: none."""
    from agreements.models import Membership

    events = AuditEvent.objects.select_related("actor").prefetch_related("teams")
    if user.is_staff:
        return events
    managed = Membership.objects.filter(user=user, role=Membership.Role.MANAGER).values("team_id")
    return events.filter(teams__in=managed).distinct()


def manages_a_team(user) -> bool:
    from agreements.models import Membership

    return (
        user.is_staff or Membership.objects.filter(user=user, role=Membership.Role.MANAGER).exists()
    )
