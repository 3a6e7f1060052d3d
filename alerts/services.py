"""Writes for alerts: preferences, and queueing alerts into the outbox.

The `*_detected` functions are called from the hooks in `leads.events`, inside the
transaction of the check that found the event, so an alert row exists exactly when the
event was recorded. Each row is unique per (event key, recipient): a second detection of
the same event cannot queue a second email.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction

from agreements import businesstime
from agreements.calendars import clock_calendar
from agreements.models import Commitment
from agreements.wording import commitment_sentence, duration_words
from alerts import content, selectors
from alerts.models import (
    CHAT_CHANNELS,
    CHAT_EVENTS,
    TEAM_EVENTS,
    Alert,
    Channel,
    ChannelDelivery,
    Event,
    Mode,
    NotificationPreference,
    NotificationSettings,
    TeamChannel,
)
from leads.models import Breach, Obligation

Builder = Callable[[AbstractBaseUser, ZoneInfo], content.Rendered]


# Preferences ----------------------------------------------------------------------------


@transaction.atomic
def preference_set(*, user: AbstractBaseUser, event: str, mode: str) -> NotificationPreference:
    """Set how `user` receives `event` alerts: immediately, in the digest only, or off."""
    if event not in Event.values:
        raise ValidationError({"event": f"Unknown kind of alert {event!r}."})
    if mode not in Mode.values:
        raise ValidationError({"mode": "Choose immediate, digest or off."})
    if event == Event.DIGEST and mode == Mode.IMMEDIATE:
        raise ValidationError({"mode": "The daily digest is either on (digest) or off."})
    if event == Event.ESCALATION and mode == Mode.OFF and selectors.is_any_manager(user):
        raise ValidationError({"mode": "A manager cannot turn off escalations."})
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, event=event, defaults={"mode": mode}
    )
    return preference


def notification_settings_set(
    *, user: AbstractBaseUser, timezone: str = "", digest_hour: int = 8
) -> NotificationSettings:
    """Set the user's email time zone (empty: the team's) and the local hour of the digest."""
    current = NotificationSettings.objects.filter(user=user).first()
    stored = current or NotificationSettings(user=user)
    stored.timezone, stored.digest_hour = timezone, digest_hour
    stored.full_clean()
    stored.save()
    return stored


@transaction.atomic
def preference_channels_set(
    *, user: AbstractBaseUser, event: str, channels: list[str]
) -> NotificationPreference:
    """Choose where `user`'s immediate `event` alerts go (any of email, Slack, Teams); a
    chat channel needs the user's destination for it (`notification_channels_set`)."""
    if event not in Event.values:
        raise ValidationError({"event": f"Unknown kind of alert {event!r}."})
    unknown = set(channels) - set(Channel.values)
    if unknown:
        raise ValidationError({"channels": f"Unknown channel {sorted(unknown)[0]!r}."})
    if set(channels) & set(CHAT_CHANNELS) and event not in CHAT_EVENTS:
        raise ValidationError({"channels": f"{Event(event).label} come by email only."})
    ready = selectors.chat_set_up_for([user.pk]).get(user.pk, set())
    missing = [c for c in channels if c in CHAT_CHANNELS and c not in ready]
    if missing:
        label = Channel(missing[0]).label
        raise ValidationError({"channels": f"Add your {label} webhook URL first."})
    chosen = [c for c in Channel.values if c in channels]
    if not chosen:
        raise ValidationError(
            {"channels": "Choose at least one channel (or set this alert to off)."}
        )
    preference = NotificationPreference.objects.filter(user=user, event=event).first()
    if preference is None:
        preference = NotificationPreference(
            user=user, event=event, mode=selectors.DEFAULT_MODE[event]
        )
    preference.channels = chosen
    preference.save()
    return preference


KEEP = object()  # a secret field left as it is (the page shows it masked, never in full)


def notification_channels_set(
    *, user: AbstractBaseUser, slack_webhook_url=KEEP, teams_webhook_url=KEEP
) -> NotificationSettings:
    """Set or clear the user's own Slack and Teams incoming-webhook URLs."""
    stored = NotificationSettings.objects.filter(user=user).first() or NotificationSettings(
        user=user
    )
    if slack_webhook_url is not KEEP:
        stored.slack_webhook_url = slack_webhook_url.strip()
    if teams_webhook_url is not KEEP:
        stored.teams_webhook_url = teams_webhook_url.strip()
    stored.full_clean()
    stored.save()
    return stored


@transaction.atomic
def team_channel_set(
    *,
    user: AbstractBaseUser,
    team,
    channel: str,
    now: datetime,
    webhook_url=KEEP,
    bot_token=KEEP,
    slack_channel: str = "",
    events: list[str] | None = None,
    is_active: bool = True,
) -> TeamChannel:
    """Post `team`'s breaches and warnings to a Slack or Teams channel (managers of the
    team or staff; audited without the secrets). Slack takes an incoming-webhook URL or a
    bot token with a channel id; Teams an incoming-webhook URL. A secret passed as KEEP
    stays as stored."""
    from agreements import access
    from audit import record
    from audit.models import Action

    if not access.can_set_team_channel(user, team):
        raise PermissionDenied("Only a manager of this team (or staff) sets its chat channel.")
    if channel not in CHAT_CHANNELS:
        raise ValidationError({"channel": "Choose Slack or Microsoft Teams."})
    events = list(TEAM_EVENTS) if events is None else events
    if set(events) - set(TEAM_EVENTS):
        raise ValidationError({"events": "A team channel carries breaches and warnings."})
    stored = TeamChannel.objects.select_for_update().filter(team=team).first()
    before = _channel_shape(stored)
    tc = stored or TeamChannel(team=team)
    if webhook_url is not KEEP:
        tc.webhook_url = webhook_url.strip()
    if bot_token is not KEEP:
        tc.bot_token = bot_token.strip()
    tc.channel, tc.slack_channel = channel, slack_channel.strip()
    tc.events = [e for e in TEAM_EVENTS if e in events]
    tc.is_active, tc.updated_at, tc.updated_by = is_active, now, user
    if channel == Channel.TEAMS:
        tc.bot_token, tc.slack_channel = "", ""
    if tc.bot_token:
        tc.webhook_url = ""
        if not tc.slack_channel:
            raise ValidationError({"slack_channel": "With a bot token, enter the channel id."})
    elif not tc.webhook_url:
        raise ValidationError({"webhook_url": "Enter the channel's incoming-webhook URL."})
    tc.full_clean()
    tc.save()
    record(
        Action.TEAM_CHANNEL_SET,
        tc,
        user=user,
        changes={"before": before, "after": _channel_shape(tc)},
        teams=[team.pk],
    )
    return tc


def _channel_shape(tc: TeamChannel | None) -> dict:
    """What the audit log keeps of a team channel: never a secret, only whether one is set
    and its masked form."""
    if tc is None:
        return {}
    return {
        "channel": tc.channel,
        "webhook_url": selectors.mask_secret(tc.webhook_url),
        "bot_token": "set" if tc.bot_token else "",
        "slack_channel": tc.slack_channel,
        "events": tc.events,
        "is_active": tc.is_active,
    }


# The outbox -----------------------------------------------------------------------------


@dataclass
class Notice:
    """One event to tell some users about."""

    event: str
    key: str
    user_ids: list[int]
    build: Builder | None = None  # render now (tests, ad-hoc alerts); else `facts`
    breach_id: int | None = None
    obligation_id: int | None = None
    facts: dict | None = None  # the snapshot rendered at delivery (alerts.content)
    team_ids: list[int] = field(default_factory=list)  # whose team channels may carry it


def queue(notices: Iterable[Notice], *, now: datetime) -> int:
    """Write one outbox row per notice and recipient who wants it: pending (send now) or
    held (for the digest). Four queries for the whole batch, whatever its size.

    A notice with `facts` is stored as that snapshot with empty bodies: the deliverer renders
    it (`alerts.delivery`), outside the check's transaction. A notice with `build` is
    rendered here (kept for ad-hoc alerts and tests). A row already queued for the same
    (key, recipient) is left as it is."""
    notices = list(notices)
    chats = _queue_team_channels(notices, now=now)
    user_ids = {pk for notice in notices for pk in notice.user_ids}
    if not user_ids:
        return chats
    users = {user.pk: user for user in selectors.reachable_users(user_ids)}
    events = {notice.event for notice in notices}
    modes, picked = selectors.choices_for(users, events)
    chat_ready = selectors.chat_set_up_for(
        {pk for (pk, _), chosen in picked.items() if set(chosen) & set(CHAT_CHANNELS)}
    )
    zones = selectors.timezones_for(users) if any(n.build for n in notices) else {}
    rows, chat_rows = [], []
    for notice in notices:
        facts = json.dumps(notice.facts or {}, cls=DjangoJSONEncoder)
        for pk in dict.fromkeys(notice.user_ids):
            user = users.get(pk)
            if user is None or modes[(pk, notice.event)] == Mode.OFF:
                continue
            held = modes[(pk, notice.event)] == Mode.DIGEST
            channels = picked[(pk, notice.event)]
            if not held and notice.facts:
                for channel in chat_ready.get(pk, set()) & set(channels):
                    chat_rows.append(
                        ChannelDelivery(
                            event=notice.event,
                            key=notice.key,
                            channel=channel,
                            recipient_id=pk,
                            facts=notice.facts,
                            breach_id=notice.breach_id,
                            created_at=now,
                            next_attempt_at=now,
                        )
                    )
            if not held and Channel.EMAIL not in channels and notice.facts:
                continue  # taken in chat only (a notice without a snapshot is email only)
            rendered = notice.build(user, ZoneInfo(zones[pk])) if notice.build else None
            rows.append(
                {
                    "event": notice.event,
                    "key": notice.key,
                    "recipient_id": pk,
                    "to_email": user.email,
                    "subject": rendered.subject if rendered else "",
                    "body_text": rendered.text if rendered else "",
                    "body_html": rendered.html if rendered else "",
                    "facts": facts,
                    "breach_id": notice.breach_id,
                    "obligation_id": notice.obligation_id,
                    "status": Alert.Status.HELD if held else Alert.Status.PENDING,
                }
            )
    _insert_alerts(rows, now=now)
    if chat_rows:
        ChannelDelivery.objects.bulk_create(chat_rows, ignore_conflicts=True)
    return len(rows) + len(chat_rows) + chats


def _queue_team_channels(notices: list[Notice], *, now: datetime) -> int:
    """One chat row per notice of a team event and team channel that carries it (one
    query to find the channels, one INSERT; a row already queued is left as it is)."""
    wanted = [n for n in notices if n.event in TEAM_EVENTS and n.team_ids and n.facts]
    if not wanted:
        return 0
    by_team = selectors.team_channels_for({t for n in wanted for t in n.team_ids})
    rows = [
        ChannelDelivery(
            event=notice.event,
            key=notice.key,
            channel=by_team[team_id].channel,
            team_channel=by_team[team_id],
            facts=notice.facts,
            breach_id=notice.breach_id,
            created_at=now,
            next_attempt_at=now,
        )
        for notice in wanted
        for team_id in dict.fromkeys(notice.team_ids)
        if team_id in by_team and notice.event in (by_team[team_id].events or [])
    ]
    if rows:
        ChannelDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _insert_alerts(rows: list[dict], *, now: datetime) -> None:
    """One INSERT for the whole batch, the rows passed as one JSON document: building
    thousands of model instances for `bulk_create` cost more than the database's work."""
    if not rows:
        return
    if connection.vendor != "postgresql":  # SQLite, `make run`'s embedded default
        Alert.objects.bulk_create(
            [
                Alert(
                    **{**row, "facts": json.loads(row["facts"])},
                    created_at=now,
                    next_attempt_at=now,
                )
                for row in rows
            ],
            ignore_conflicts=True,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO alerts_alert (
                event, key, recipient_id, to_email, subject, body_text, body_html, facts,
                breach_id, obligation_id, status, created_at, next_attempt_at, attempts,
                claim_token, last_error
            )
            SELECT r.event, r.key, r.recipient_id, r.to_email, r.subject, r.body_text,
                   r.body_html, r.facts::jsonb, r.breach_id, r.obligation_id, r.status,
                   %s, %s, 0, '', ''
            FROM jsonb_to_recordset(%s::jsonb) AS r(
                event text, key text, recipient_id integer, to_email text, subject text,
                body_text text, body_html text, facts text, breach_id integer,
                obligation_id integer, status text
            )
            ON CONFLICT DO NOTHING
            """,
            [now, now, json.dumps(rows)],
        )


class _Promises:
    """The promise sentence of each commitment, worded once per batch."""

    def __init__(self) -> None:
        self.cache: dict[int, str] = {}

    def __call__(self, obligation: Obligation) -> str:
        pk = obligation.commitment_id
        if pk not in self.cache:
            self.cache[pk] = commitment_sentence(obligation.commitment)
        return self.cache[pk]


def _with_related(model, pks: list[int]):
    related = (
        "commitment__version__agreement",
        "lead",
        "team",
        "user",
    )
    if model is Breach:
        related = tuple(f"obligation__{name}" for name in related) + ("lead", "team", "user")
    return list(model.objects.filter(pk__in=pks).select_related(*related).order_by("pk"))


def warnings_detected(obligations: list[Obligation], *, now: datetime) -> int:
    """Obligations past their warn time: tell the lead owner (the clock's user), or the
    team's managers when nobody owns the lead yet, so that someone takes it in time."""
    obligations = [o for o in _with_related(Obligation, [o.pk for o in obligations]) if o.lead_id]
    unowned_teams = [o.team_id for o in obligations if o.user_id is None]
    managers = selectors.managers_by_team(unowned_teams) if unowned_teams else {}
    notices = []
    promises = _Promises()
    for obligation in obligations:
        facts = content.clock_facts(obligation, now=now, promise=promises(obligation))
        facts["left"] = content.short_duration(obligation.due_at - now)
        recipients = [obligation.user_id] if obligation.user_id else managers[obligation.team_id]
        notices.append(
            Notice(
                Event.WARNING,
                f"warning:{obligation.pk}",
                recipients,
                obligation_id=obligation.pk,
                facts=facts,
                team_ids=[obligation.team_id],
            )
        )
    return queue(notices, now=now)


def breaches_detected(breaches: list[Breach], *, now: datetime) -> int:
    """New breaches: a lead clock's to its responsible user and their team's managers (the
    sales managers alone when the lead has no owner); a missed quota to the managers of
    both sides. A constant number of queries for the batch, whatever its size."""
    pks = [b.pk for b in breaches]
    rows = selectors.lead_breach_rows(pks)
    on_leads = {row["id"] for row in rows}
    on_periods = [pk for pk in pks if pk not in on_leads]
    periods = _with_related(Breach, on_periods) if on_periods else []
    agreements = [b.obligation.commitment.version.agreement for b in periods]
    managers = selectors.managers_by_team(
        [row["team_id"] for row in rows]
        + [t for a in agreements for t in (a.marketing_team_id, a.sales_team_id)]
    )
    commitments = {
        c.pk: c for c in Commitment.objects.filter(pk__in={row["commitment_id"] for row in rows})
    }
    sentences = {pk: commitment_sentence(c) for pk, c in commitments.items()}
    notices = []
    for row in rows:
        users = ([row["user_id"]] if row["user_id"] else []) + managers[row["team_id"]]
        notices.append(
            Notice(
                Event.BREACH,
                f"breach:{row['id']}",
                users,
                breach_id=row["id"],
                obligation_id=row["obligation_id"],
                facts=content.lead_breach_facts(
                    row, now=now, promise=sentences[row["commitment_id"]]
                ),
                team_ids=[row["team_id"]],
            )
        )
    promises = _Promises()
    for breach, agreement in zip(periods, agreements, strict=True):
        users = managers[agreement.marketing_team_id] + managers[agreement.sales_team_id]
        notices.append(
            Notice(
                Event.QUOTA_MISSED,
                f"breach:{breach.pk}",
                users,
                breach_id=breach.pk,
                obligation_id=breach.obligation_id,
                facts=content.breach_facts(breach, now=now, promise=promises(breach.obligation)),
            )
        )
    return queue(notices, now=now)


def quota_at_risk_detected(obligation: Obligation, *, now: datetime) -> int:
    """A period's pace says it will miss: tell the managers of both sides."""
    (obligation,) = _with_related(Obligation, [obligation.pk])
    agreement = obligation.commitment.version.agreement
    managers = selectors.managers_by_team([agreement.marketing_team_id, agreement.sales_team_id])

    users = managers[agreement.marketing_team_id] + managers[agreement.sales_team_id]
    notice = Notice(
        Event.QUOTA_AT_RISK,
        f"quota_at_risk:{obligation.pk}",
        users,
        obligation_id=obligation.pk,
        facts=content.clock_facts(obligation, now=now),
    )
    return queue([notice], now=now)


# Escalation -----------------------------------------------------------------------------


def _shortest_real_time(duration: businesstime.ClockDuration) -> timedelta:
    """A business duration never passes in less real time than this (a working day keeps
    the wall time, so it lasts at least 23 real hours across a DST change)."""
    return timedelta(hours=23 * duration.days, seconds=duration.seconds)


def escalate_breaches(*, now: datetime, after: str | None = None, batch: int = 200) -> int:
    """Breaches still open (unacknowledged) `after` business time since they were detected,
    on the agreement's calendar (default settings.ALERTS_ESCALATE_AFTER, one business day):
    mark them escalated and tell both sides' managers, once. Returns how many."""
    duration = businesstime.ClockDuration.parse(after or settings.ALERTS_ESCALATE_AFTER)
    calendars: dict[int, businesstime.Calendar] = {}
    candidates = Breach.objects.filter(
        status=Breach.Status.OPEN,
        escalated_at__isnull=True,
        detected_at__lte=now - _shortest_real_time(duration),
    )
    total, last_pk = 0, 0
    while True:
        with transaction.atomic():
            claimed = list(
                candidates.filter(pk__gt=last_pk)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("obligation__agreement_version__agreement__calendar")
                .order_by("pk")[:batch]
            )
            if not claimed:
                return total
            last_pk = claimed[-1].pk
            due = []
            for breach in claimed:
                stored = breach.obligation.agreement_version.agreement.calendar
                if stored.pk not in calendars:
                    calendars[stored.pk] = clock_calendar(stored, around=now)
                deadline = businesstime.add_duration(
                    calendars[stored.pk], breach.detected_at, duration, "business"
                )
                if deadline <= now:
                    due.append(breach)
            if due:
                Breach.objects.filter(pk__in=[b.pk for b in due]).update(escalated_at=now)
                _queue_escalations(due, duration, now=now)
                total += len(due)


def _queue_escalations(
    breaches: list[Breach], duration: businesstime.ClockDuration, *, now: datetime
) -> int:
    breaches = _with_related(Breach, [b.pk for b in breaches])
    waited = duration_words(duration.isoformat(), "business")
    agreements = [b.obligation.commitment.version.agreement for b in breaches]
    managers = selectors.managers_by_team(
        [t for a in agreements for t in (a.marketing_team_id, a.sales_team_id)]
    )
    notices = []
    promises = _Promises()
    for breach, agreement in zip(breaches, agreements, strict=True):
        facts = content.breach_facts(breach, now=now, promise=promises(breach.obligation))
        facts["waited"] = waited
        users = managers[agreement.marketing_team_id] + managers[agreement.sales_team_id]
        notices.append(
            Notice(
                Event.ESCALATION,
                f"escalation:{breach.pk}",
                users,
                breach_id=breach.pk,
                obligation_id=breach.obligation_id,
                facts=facts,
            )
        )
    return queue(notices, now=now)


# Digest ---------------------------------------------------------------------------------


@dataclass
class DigestResult:
    sent: int = 0
    empty: int = 0
    users: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"digest: {self.sent} queued, {self.empty} with nothing to report"


DIGEST_LIST_LIMIT = 50


def _digest_for(user, tz: ZoneInfo, key: str, *, now: datetime) -> Alert:
    today = selectors.local_day_bounds(now, tz)
    yesterday = selectors.local_day_bounds(now, tz, days_back=1)
    due = list(selectors.obligations_due_between(user, *today)[: DIGEST_LIST_LIMIT + 1])
    breached = list(selectors.breaches_due_between(user, *yesterday)[: DIGEST_LIST_LIMIT + 1])
    held = list(selectors.held_alerts(user).select_for_update())
    for alert in held:
        alert.recipient = user
    rendered_now = [alert for alert in held if alert.render_from_facts(tz)]
    if rendered_now:  # held alerts are rendered here, the digest lists their subjects
        Alert.objects.bulk_update(rendered_now, ["subject", "body_text", "body_html"])
    context = {
        "recipient": user,
        "recipient_name": content.person(user),
        "day": today[0].strftime("%a %d %b %Y"),
        "timezone": str(tz),
        "due": [
            {
                "clock": content.clock_name(o),
                "what": content.lead_label(o.lead) if o.lead else str(o.team),
                "due_at": o.due_at.astimezone(tz).strftime("%H:%M"),
                "responsible": content.person(o.user),
                "url": content.absolute("lead-detail", o.lead_id) if o.lead_id else "",
            }
            for o in due[:DIGEST_LIST_LIMIT]
        ],
        "more_due": len(due) > DIGEST_LIST_LIMIT,
        "breached": [
            {
                "clock": content.clock_name(b.obligation),
                "what": content.lead_label(b.lead) if b.lead else str(b.team),
                "due_at": content.local(b.due_at, tz),
                "responsible": content.person(b.user),
                "status": b.get_status_display(),
                "url": content.absolute("breach-detail", b.pk),
            }
            for b in breached[:DIGEST_LIST_LIMIT]
        ],
        "more_breached": len(breached) > DIGEST_LIST_LIMIT,
        "held": held,
        "breaches_url": content.absolute("breach-list"),
    }
    rendered = content.render(Event.DIGEST, context)
    anything = bool(due or breached or held)
    alert = Alert.objects.create(
        event=Event.DIGEST,
        key=key,
        recipient=user,
        to_email=user.email,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        status=Alert.Status.PENDING if anything else Alert.Status.SKIPPED,
        created_at=now,
        next_attempt_at=now,
    )
    Alert.objects.filter(pk__in=[a.pk for a in held]).update(
        status=Alert.Status.DIGESTED, digest=alert
    )
    return alert


def send_digests(*, now: datetime) -> DigestResult:
    """Queue today's digest for every user whose local digest hour has come and who has
    not had today's (the outbox key ``digest:<local date>`` makes it once per day)."""
    result = DigestResult()
    users = list(selectors.digest_candidates())
    ids = [u.pk for u in users]
    zones, hours = selectors.timezones_for(ids), selectors.digest_hours_for(ids)
    modes = selectors.modes_for(ids, [Event.DIGEST])
    due = []
    for user in users:
        tz = ZoneInfo(zones[user.pk])
        local_now = now.astimezone(tz)
        if modes[(user.pk, Event.DIGEST.value)] == Mode.OFF or local_now.hour < hours[user.pk]:
            continue
        due.append((user, tz, f"digest:{local_now.date().isoformat()}"))
    done = set(
        Alert.objects.filter(
            event=Event.DIGEST, key__in={key for _, _, key in due}, recipient_id__in=ids
        ).values_list("recipient_id", "key")
    )
    for user, tz, key in due:
        if (user.pk, key) in done:
            continue
        try:
            with transaction.atomic():
                alert = _digest_for(user, tz, key, now=now)
        except IntegrityError:
            continue  # another digest run queued it first
        result.users.append(user.pk)
        if alert.status == Alert.Status.SKIPPED:
            result.empty += 1
        else:
            result.sent += 1
    return result
