"""Reads for alerts: preferences, time zones and digest hours, and who receives what."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet

from agreements.models import Membership
from alerts.models import (
    CHAT_CHANNELS,
    TEAM_EVENTS,
    Alert,
    ChannelDelivery,
    Event,
    Mode,
    NotificationPreference,
    NotificationSettings,
    TeamChannel,
    default_channels,
)
from leads.models import Breach, Obligation

DEFAULT_DIGEST_HOUR = 8

# Events that may be delivered at once; the digest itself is only "digest" (on) or "off".
DEFAULT_MODE = {event: Mode.IMMEDIATE for event in Event.values} | {Event.DIGEST: Mode.DIGEST}


def is_any_manager(user: AbstractBaseUser) -> bool:
    return Membership.objects.filter(user=user, role=Membership.Role.MANAGER).exists()


def preferences_for(user: AbstractBaseUser) -> list[dict]:
    """Every event kind with the user's mode and channels, for the notification settings
    page: ``[{"event", "label", "mode", "can_turn_off", "channels"}, …]`` in a fixed order."""
    stored = {
        event: (mode, channels)
        for event, mode, channels in NotificationPreference.objects.filter(user=user).values_list(
            "event", "mode", "channels"
        )
    }
    manager = is_any_manager(user)
    rows = []
    for event in Event:
        mode, channels = stored.get(event.value, (DEFAULT_MODE[event.value], default_channels()))
        locked = manager and event == Event.ESCALATION
        rows.append(
            {
                "event": event.value,
                "label": event.label,
                "mode": Mode.IMMEDIATE.value if locked and mode == Mode.OFF else mode,
                "can_turn_off": not locked,
                "channels": list(channels or []),
            }
        )
    return rows


def modes_for(user_ids: Iterable[int], events: Iterable[str]) -> dict[tuple[int, str], str]:
    """{(user id, event): mode} for these users and events, in one query (two for
    escalations: a manager never has them off)."""
    return choices_for(user_ids, events)[0]


def choices_for(user_ids: Iterable[int], events: Iterable[str]) -> tuple[dict, dict]:
    """({(user id, event): mode}, {(user id, event): [channel, …]}) in one query (two for
    escalations: a manager never has them off). No preference row: the default mode, by
    email."""
    user_ids, events = list(user_ids), list(events)
    modes = {(pk, event): DEFAULT_MODE[event] for pk in user_ids for event in events}
    chosen = {(pk, event): default_channels() for pk in user_ids for event in events}
    for user_id, event, mode, picked in NotificationPreference.objects.filter(
        user_id__in=user_ids, event__in=events
    ).values_list("user_id", "event", "mode", "channels"):
        modes[(user_id, event)] = mode
        chosen[(user_id, event)] = list(picked or [])
    if Event.ESCALATION in events:
        managers = Membership.objects.filter(user_id__in=user_ids, role=Membership.Role.MANAGER)
        for pk in set(managers.values_list("user_id", flat=True)):
            if modes[(pk, Event.ESCALATION.value)] == Mode.OFF:
                modes[(pk, Event.ESCALATION.value)] = Mode.IMMEDIATE
    return modes, chosen


def timezones_for(user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's time zone for emails: their own setting, else their (first) team's, else
    UTC. Two queries whatever the number of users."""
    user_ids = list(user_ids)
    zones = {pk: "UTC" for pk in user_ids}
    for user_id, zone in (
        Membership.objects.filter(user_id__in=user_ids)
        .order_by("-id")
        .values_list("user_id", "team__timezone")
    ):
        zones[user_id] = zone or "UTC"  # ascending by id wins: the first team joined
    zones.update(
        NotificationSettings.objects.filter(user_id__in=user_ids)
        .exclude(timezone="")
        .values_list("user_id", "timezone")
    )
    return zones


def digest_hours_for(user_ids: Iterable[int]) -> dict[int, int]:
    user_ids = list(user_ids)
    hours = {pk: DEFAULT_DIGEST_HOUR for pk in user_ids}
    hours.update(
        NotificationSettings.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "digest_hour"
        )
    )
    return hours


def managers_by_team(team_ids: Iterable[int | None]) -> dict[int, list[int]]:
    """{team id: [manager user ids]} in one query."""
    ids = {pk for pk in team_ids if pk is not None}
    managers: dict[int, list[int]] = {pk: [] for pk in ids}
    for team_id, user_id in (
        Membership.objects.filter(team_id__in=ids, role=Membership.Role.MANAGER)
        .order_by("user_id")
        .values_list("team_id", "user_id")
    ):
        managers[team_id].append(user_id)
    return managers


def lead_breach_rows(breach_ids: list[int]) -> list[dict]:
    """What the snapshot of each lead clock's breach states, as plain columns, in one query
    (`alerts.content.lead_breach_facts`)."""
    obligation = "obligation__"
    agreement = "obligation__commitment__version__agreement__"
    return list(
        Breach.objects.filter(pk__in=breach_ids, lead__isnull=False)
        .order_by("pk")
        .values(
            "id",
            "obligation_id",
            "kind",
            "team_id",
            "user_id",
            "lead_id",
            "due_at",
            "detected_at",
            attempt=F(f"{obligation}attempt"),
            starts_at=F(f"{obligation}starts_at"),
            commitment_id=F(f"{obligation}commitment_id"),
            team_name=F(f"{obligation}team__name"),
            user_first_name=F("user__first_name"),
            user_last_name=F("user__last_name"),
            user_username=F("user__username"),
            lead_name=F("lead__name"),
            lead_company=F("lead__company"),
            lead_tier=F("lead__tier"),
            lead_email=F("lead__email"),
            lead_title=F("lead__title"),
            marketing_team_id=F(f"{agreement}marketing_team_id"),
            sales_team_id=F(f"{agreement}sales_team_id"),
        )
    )


def reachable_users(user_ids: Iterable[int]) -> QuerySet:
    """Active users with an email address among these."""
    return get_user_model().objects.filter(pk__in=list(user_ids), is_active=True).exclude(email="")


def digest_candidates() -> QuerySet:
    """Users who may get a digest: active, with an email, member of a team."""
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__isnull=False)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def local_day_bounds(
    at: datetime, tz: ZoneInfo, *, days_back: int = 0
) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar day containing `at`, `days_back` days earlier."""
    day = at.astimezone(tz).date() - timedelta(days=days_back)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    return start, datetime(following.year, following.month, following.day, tzinfo=tz)


def _concerning(user: AbstractBaseUser) -> Q:
    """The user's own clocks, and those of the teams they manage."""
    managed = Membership.objects.filter(user=user, role=Membership.Role.MANAGER).values("team_id")
    return Q(user=user) | Q(team_id__in=managed)


def obligations_due_between(
    user: AbstractBaseUser, start: datetime, end: datetime
) -> QuerySet[Obligation]:
    return (
        Obligation.objects.filter(
            _concerning(user), status=Obligation.Status.OPEN, due_at__gte=start, due_at__lt=end
        )
        .select_related("lead", "commitment", "team", "user")
        .order_by("due_at", "id")
    )


def breaches_due_between(
    user: AbstractBaseUser, start: datetime, end: datetime
) -> QuerySet[Breach]:
    return (
        Breach.objects.filter(_concerning(user), due_at__gte=start, due_at__lt=end)
        .select_related("lead", "obligation__commitment", "team", "user")
        .order_by("due_at", "id")
    )


def held_alerts(user: AbstractBaseUser) -> QuerySet[Alert]:
    """Alerts the user asked to see in the digest only, not yet in one."""
    return Alert.objects.filter(recipient=user, status=Alert.Status.HELD).order_by("created_at")


# Channels ---------------------------------------------------------------------------------


def chat_set_up_for(user_ids: Iterable[int]) -> dict[int, set[str]]:
    """{user id: the chat channels the user has a destination for}; one query."""
    found: dict[int, set[str]] = {}
    user_ids = list(user_ids)
    if not user_ids:
        return found
    for user_id, slack, teams in NotificationSettings.objects.filter(
        user_id__in=user_ids
    ).values_list("user_id", "slack_webhook_url", "teams_webhook_url"):
        found[user_id] = {c for c, url in (("slack", slack), ("teams", teams)) if url}
    return found


def team_channels_for(team_ids: Iterable[int]) -> dict[int, TeamChannel]:
    """{team id: its active chat channel}; one query."""
    ids = {pk for pk in team_ids if pk}
    if not ids:
        return {}
    return {tc.team_id: tc for tc in TeamChannel.objects.filter(team_id__in=ids, is_active=True)}


def mask_secret(value: str) -> str:
    """A secret shown back: enough to recognise it, never enough to use it."""
    if not value:
        return ""
    if "://" in value:
        scheme, rest = value.split("://", 1)
        host = rest.split("/", 1)[0]
        return f"{scheme}://{host}/…{value[-4:]}"
    return f"{value[:5]}…{value[-4:]}" if len(value) > 12 else "…"


def personal_channels(user) -> dict:
    """The user's own chat destinations, masked, for the settings page."""
    stored = NotificationSettings.objects.filter(user=user).first()
    return {
        channel: mask_secret(getattr(stored, f"{channel}_webhook_url", "") if stored else "")
        for channel in CHAT_CHANNELS
    }


def team_channel_rows(user, team_ids: Iterable[int]) -> list[dict]:
    """For each team the user may set a channel for: the team, its channel (masked) and its
    latest failed posts, for the settings page. Three queries."""
    from agreements.models import Team

    teams = list(Team.objects.filter(pk__in=list(team_ids)).order_by("name"))
    stored = {tc.team_id: tc for tc in TeamChannel.objects.filter(team__in=teams)}
    failures: dict[int, list] = {}
    for row in (
        ChannelDelivery.objects.filter(
            team_channel__in=stored.values(), status=ChannelDelivery.Status.FAILED
        )
        .order_by("-next_attempt_at", "-id")
        .values("team_channel_id", "key", "last_error", "next_attempt_at")[:50]
    ):
        failures.setdefault(row["team_channel_id"], []).append(row)
    rows = []
    for team in teams:
        tc = stored.get(team.pk)
        rows.append(
            {
                "team": team,
                "channel": tc.channel if tc else "",
                "is_active": tc.is_active if tc else False,
                "events": tc.events if tc else list(TEAM_EVENTS),
                "webhook_url": mask_secret(tc.webhook_url) if tc else "",
                "bot_token": mask_secret(tc.bot_token) if tc else "",
                "slack_channel": tc.slack_channel if tc else "",
                "failures": failures.get(tc.pk, [])[:5] if tc else [],
            }
        )
    return rows


def failed_personal_deliveries(user, limit: int = 5) -> list[ChannelDelivery]:
    return list(
        ChannelDelivery.objects.filter(
            recipient=user, status=ChannelDelivery.Status.FAILED
        ).order_by("-next_attempt_at", "-id")[:limit]
    )
