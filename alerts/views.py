"""The chat parts of the notification settings page (/settings/notifications/): which
channels each event goes to, the user's own Slack and Teams webhooks, and the chat channel
of each team the user manages. Thin: the rules are in `alerts.services` and
`agreements.access`; secrets are never shown back in full."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import access
from agreements.models import Team
from alerts import selectors, services
from alerts.channels import transports
from alerts.models import CHAT_EVENTS, TEAM_EVENTS, Channel, Event, Mode


def chat_context(user) -> dict:
    """What the page shows of chat channels, for the template."""
    personal = selectors.personal_channels(user)
    return {
        "channel_choices": [(c.value, c.label) for c in Channel],
        "chat_events": CHAT_EVENTS,
        "chat_ready": {c for c, masked in personal.items() if masked},
        "personal_channels": [
            {"channel": name, "label": module.LABEL, "masked": personal.get(name, "")}
            for name, module in transports().items()
        ],
        "personal_failures": selectors.failed_personal_deliveries(user),
        "team_channels": selectors.team_channel_rows(user, access.team_channel_team_ids(user)),
        "team_events": [(e, Event(e).label) for e in TEAM_EVENTS],
        "chat_kinds": [(name, module.LABEL) for name, module in transports().items()],
    }


def save_channel_choices(request: HttpRequest, rows: list[dict]) -> tuple[int, list[str]]:
    """Store the ticked channels of each event that changed; (changed, error lines)."""
    changed, errors = 0, []
    for row in rows:
        mode = request.POST.get(f"mode-{row['event']}", row["mode"])
        if row["event"] not in CHAT_EVENTS or mode == Mode.OFF:
            continue
        picked = request.POST.getlist(f"channels-{row['event']}")
        if sorted(picked) == sorted(row["channels"]):
            continue
        try:
            services.preference_channels_set(user=request.user, event=row["event"], channels=picked)
            changed += 1
        except ValidationError as exc:
            errors += [f"{row['label']}: {m}" for m in exc.messages]
    return changed, errors


def _secret(request: HttpRequest, name: str):
    """A secret field: blank keeps the stored value, the clear box empties it."""
    if request.POST.get(f"clear-{name}"):
        return ""
    value = request.POST.get(name, "").strip()
    return value if value else services.KEEP


@login_required
@require_POST
def settings_chat_destinations(request: HttpRequest) -> HttpResponse:
    try:
        services.notification_channels_set(
            user=request.user,
            slack_webhook_url=_secret(request, "slack_webhook_url"),
            teams_webhook_url=_secret(request, "teams_webhook_url"),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Your chat destinations are saved.")
    return redirect("settings-notifications")


@login_required
@require_POST
def settings_team_channel(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    if not access.can_set_team_channel(request.user, team):
        raise PermissionDenied("Only a manager of this team (or staff) sets its chat channel.")
    try:
        services.team_channel_set(
            user=request.user,
            team=team,
            channel=request.POST.get("channel", ""),
            webhook_url=_secret(request, "webhook_url"),
            bot_token=_secret(request, "bot_token"),
            slack_channel=request.POST.get("slack_channel", ""),
            events=request.POST.getlist("events"),
            is_active=bool(request.POST.get("is_active")),
            now=timezone.now(),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{team.name}: {message}")
    else:
        messages.success(request, f"{team.name}: chat channel saved.")
    return redirect("settings-notifications")
