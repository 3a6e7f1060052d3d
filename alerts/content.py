"""What an alert says: subject, plain text and HTML, rendered from templates/emails/.

The promise is always `agreements.wording.commitment_sentence`; times are shown in the
recipient's time zone; links are absolute (settings.SITE_URL + the named URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from agreements.kinds import KINDS
from agreements.wording import commitment_sentence
from leads.models import Lead, Obligation


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


_ID = 987654321  # a placeholder no real id can be confused with in a reversed path


@lru_cache(maxsize=64)
def _path_of(name: str, arity: int) -> str:
    return reverse(name, args=[_ID] * arity or None)


def absolute(name: str, *args) -> str:
    """The absolute URL of a named page. Integer ids are put into the path reversed once
    per name (`reverse` cost more than the rest of an email's rendering)."""
    if all(type(arg) is int for arg in args):
        path = _path_of(name, len(args))
        for arg in args:
            path = path.replace(str(_ID), str(arg), 1)
        return settings.SITE_URL + path
    return settings.SITE_URL + reverse(name, args=args or None)


def short_duration(delta: timedelta) -> str:
    """'12 min', '2 h 5 min', '3 days 4 h' (rounded down to the minute; at least 1 min)."""
    minutes = max(int(delta.total_seconds() // 60), 1)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def clock_name(obligation: Obligation) -> str:
    """'First touch', 'Follow-up attempt 2', 'Disposition', 'Lead volume'."""
    if obligation.kind == "follow_up":
        return f"Follow-up attempt {obligation.attempt}"
    return KINDS[obligation.kind].label


def lead_label(lead: Lead) -> str:
    """'Jane Doe, Acme — Tier A'."""
    label = str(lead)
    return f"{label} — Tier {lead.tier}" if lead.tier else label


def lead_label_of(name: str, company: str, tier: str) -> str:
    """`lead_label` from the stored columns (the scan builds no Lead objects); `str(lead)`
    is the name and company (tests/test_alerts_performance.py holds the two equal)."""
    label = f"{name}, {company}" if company else name
    return f"{label} — Tier {tier}" if tier else label


def person(user) -> str:
    if user is None:
        return "nobody (unassigned)"
    return user.get_full_name() or user.get_username()


def local(at: datetime | None, tz: ZoneInfo) -> str:
    """'Wed 25 Nov 2026, 14:00 CET' in the recipient's zone."""
    if at is None:
        return ""
    return at.astimezone(tz).strftime("%a %d %b %Y, %H:%M %Z")


def render(event: str, context: dict) -> Rendered:
    """Render templates/emails/<event>.{subject.txt,txt,html} with the common context."""
    context = {
        "site_url": settings.SITE_URL,
        "preferences_url": absolute("settings-notifications"),
        **context,
    }
    subject = render_to_string(f"emails/{event}.subject.txt", context)
    subject = " ".join(subject.split())[:255]
    context["subject"] = subject
    return Rendered(
        subject=subject,
        text=render_to_string(f"emails/{event}.txt", context).strip() + "\n",
        html=render_to_string(f"emails/{event}.html", context),
    )


def clock_context(obligation: Obligation, tz: ZoneInfo, *, now: datetime) -> dict:
    """What every email about one clock (lead or period) shows."""
    lead = obligation.lead
    context = {
        "obligation": obligation,
        "clock": clock_name(obligation),
        "promise": commitment_sentence(obligation.commitment),
        "team": obligation.team,
        "responsible": person(obligation.user),
        "starts_at": local(obligation.starts_at, tz),
        "due_at": local(obligation.due_at, tz),
        "now": local(now, tz),
        "timezone": str(tz),
        "lead": lead,
    }
    if lead is not None:
        context["lead_label"] = lead_label(lead)
        context["lead_url"] = absolute("lead-detail", lead.pk)
    else:
        commitment = obligation.commitment
        spec = KINDS[commitment.kind]  # how this kind states its progress (agreements.kinds)
        context["period"] = commitment.period
        context["target"] = obligation.target
        context["actual"] = obligation.actual
        context["sample"] = obligation.sample
        context["unit"] = f"{commitment.stage.upper()}s" if commitment.stage else "leads"
        context["min_acceptance_pct"] = commitment.min_acceptance_pct
        context["is_volume"] = spec.paced
        context["progress_label"] = spec.progress_label
        context["progress"] = spec.progress(obligation) if spec.progress else ""
    return context


# Snapshots: the facts an email states, taken when the event is found -------------------
#
# The checks store these as `Alert.facts` (JSON) and render nothing; the deliverer renders
# the email from them (`render_facts`), with the recipient's name and time zone. Times are
# stored as ISO strings (UTC) and shown in the recipient's zone at rendering.


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def clock_facts(obligation: Obligation, *, now: datetime, promise: str | None = None) -> dict:
    """What an email about one clock (lead or period) states, independent of the recipient."""
    lead = obligation.lead
    facts = {
        "clock": clock_name(obligation),
        "promise": promise if promise is not None else commitment_sentence(obligation.commitment),
        "team": str(obligation.team),
        "responsible": person(obligation.user),
        "starts_at": _iso(obligation.starts_at),
        "due_at": _iso(obligation.due_at),
        "now": _iso(now),
        "lead": None,
    }
    if lead is not None:
        facts["lead"] = {
            "id": lead.pk,
            "label": lead_label(lead),
            "email": lead.email,
            "title": lead.title,
        }
    else:
        commitment = obligation.commitment
        spec = KINDS[commitment.kind]
        facts.update(
            period=commitment.period,
            target=obligation.target,
            actual=obligation.actual,
            sample=obligation.sample,
            unit=f"{commitment.stage.upper()}s" if commitment.stage else "leads",
            min_acceptance_pct=commitment.min_acceptance_pct,
            is_volume=spec.paced,
            progress_label=spec.progress_label,
            progress=spec.progress(obligation) if spec.progress else "",
        )
    return facts


def lead_breach_facts(row: dict, *, now: datetime, promise: str) -> dict:
    """`breach_facts` of a lead clock's breach from plain columns (`alerts.selectors.
    lead_breach_rows`): the same snapshot, without loading eight models per breach."""
    detected_at = row["detected_at"]
    responsible = (
        f"{row['user_first_name']} {row['user_last_name']}".strip() or row["user_username"]
        if row["user_id"]
        else person(None)
    )
    clock = (
        f"Follow-up attempt {row['attempt']}"
        if row["kind"] == "follow_up"
        else KINDS[row["kind"]].label
    )
    return {
        "clock": clock,
        "promise": promise,
        "team": row["team_name"],
        "responsible": responsible,
        "starts_at": _iso(row["starts_at"]),
        "due_at": _iso(row["due_at"]),
        "now": _iso(now),
        "lead": {
            "id": row["lead_id"],
            "label": lead_label_of(row["lead_name"], row["lead_company"], row["lead_tier"]),
            "email": row["lead_email"],
            "title": row["lead_title"],
        },
        "breach_id": row["id"],
        "detected_at": _iso(detected_at),
        "overdue": short_duration(detected_at - row["due_at"]),
    }


def breach_facts(breach, *, now: datetime, promise: str | None = None) -> dict:
    facts = clock_facts(breach.obligation, now=now, promise=promise)
    facts.update(
        breach_id=breach.pk,
        detected_at=_iso(breach.detected_at),
        overdue=short_duration(breach.detected_at - breach.due_at),
        responsible=person(breach.user),
    )
    return facts


def render_facts(
    event: str, facts: dict, user, tz: ZoneInfo, *, recipient_name: str | None = None
) -> Rendered:
    """Render one snapshot for one recipient (see `clock_facts`); `recipient_name` names a
    team channel's readers instead of a user."""
    context = {
        **facts,
        "recipient": user,
        "recipient_name": recipient_name or person(user),
        "timezone": str(tz),
        "starts_at": local(_at(facts.get("starts_at")), tz),
        "due_at": local(_at(facts.get("due_at")), tz),
        "now": local(_at(facts.get("now")), tz),
    }
    lead = facts.get("lead")
    if lead:
        context["lead_label"] = lead["label"]
        context["lead_url"] = absolute("lead-detail", lead["id"])
    if facts.get("breach_id"):
        context["breach_url"] = absolute("breach-detail", facts["breach_id"])
        context["detected_at"] = local(_at(facts.get("detected_at")), tz)
    return render(event, context)


def chat_text(event: str, facts: dict, user, tz: ZoneInfo, *, recipient_name: str = ""):
    """(title, text, link) of one snapshot for a chat channel: the email's subject and
    plain text without the greeting, and the page to open (the breach, else the lead)."""
    rendered = render_facts(event, facts, user, tz, recipient_name=recipient_name or None)
    text = rendered.text.strip()
    if text.startswith("Hello "):
        text = text.split("\n\n", 1)[-1]
    link = ""
    if facts.get("breach_id"):
        link = absolute("breach-detail", facts["breach_id"])
    elif facts.get("lead"):
        link = absolute("lead-detail", facts["lead"]["id"])
    return rendered.subject.strip(), text, link
