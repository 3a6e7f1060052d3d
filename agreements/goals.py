"""Writes for shared goals: set, change and delete a goal (a manager of either side), check in
on it (any member of either team). Every write is audited. A check-in's value is computed by
the reports' metric code at that moment (`reports.goals`), never typed in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction

import audit
from agreements import access
from agreements.errors import ValidationError
from agreements.models import Agreement, Goal, GoalCheckIn

GOAL_FIELDS = [
    "name",
    "metric",
    "target",
    "period",
    "starts_on",
    "ends_on",
    "sides",
    "owner",
    "notes",
]


def _teams(agreement: Agreement) -> list[int]:
    return [agreement.marketing_team_id, agreement.sales_team_id]


def _check(goal: Goal) -> None:
    from reports.goals import GOAL_METRICS

    if goal.metric not in GOAL_METRICS:
        raise ValidationError({"metric": f"Choose one of: {', '.join(GOAL_METRICS)}."})
    if goal.ends_on and goal.starts_on and goal.ends_on < goal.starts_on:
        raise ValidationError({"ends_on": "The goal ends on or after the day it starts."})
    goal.full_clean()


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: getattr(v, "pk", v) for k, v in fields.items() if k in GOAL_FIELDS}


@transaction.atomic
def goal_create(*, agreement: Agreement, user, **fields) -> Goal:
    access.require_agreement_manager(user, agreement)
    access.require_goal_owner(agreement, fields.get("owner"))
    goal = Goal(agreement=agreement, **{k: v for k, v in fields.items() if k in GOAL_FIELDS})
    _check(goal)
    goal.save()
    audit.record("goal.create", goal, user=user, changes=_plain(fields), teams=_teams(agreement))
    return goal


@transaction.atomic
def goal_update(*, goal: Goal, user, data: dict[str, Any]) -> Goal:
    access.require_agreement_manager(user, goal.agreement)
    if "owner" in data:
        access.require_goal_owner(goal.agreement, data["owner"])
    for key, value in data.items():
        if key in GOAL_FIELDS:
            setattr(goal, key, value)
    _check(goal)
    goal.save()
    audit.record("goal.update", goal, user=user, changes=_plain(data), teams=_teams(goal.agreement))
    return goal


@transaction.atomic
def goal_delete(*, goal: Goal, user) -> None:
    access.require_agreement_manager(user, goal.agreement)
    audit.record("goal.delete", goal, user=user, teams=_teams(goal.agreement))
    goal.delete()


@transaction.atomic
def goal_check_in(
    *,
    goal: Goal,
    user,
    now: datetime,
    on: date | None = None,
    note: str = "",
    marketing_note: str = "",
    sales_note: str = "",
) -> GoalCheckIn:
    """Record where the goal stands at `now` (the current period's figure), with a note
    from each side; kept as the goal's history."""
    from reports.goals import check_in_value
    from reports.metrics import agreement_tz

    access.require_agreement_member(user, goal.agreement)
    check_in = GoalCheckIn(
        goal=goal,
        on=on or now.astimezone(agreement_tz(goal.agreement)).date(),
        value=check_in_value(goal, now),
        at=now,
        note=note,
        marketing_note=marketing_note,
        sales_note=sales_note,
        author=user,
    )
    check_in.full_clean()
    check_in.save()
    audit.record(
        "goal.check_in",
        goal,
        user=user,
        changes={"on": check_in.on, "value": check_in.value},
        teams=_teams(goal.agreement),
    )
    return check_in
