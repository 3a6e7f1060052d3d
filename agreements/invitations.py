"""Invitations: a manager (or staff) invites somebody by email to a team; the emailed link
lets them choose a username and password once, before it expires, and makes them a member
(or manager) of the team. Only a hash of the link's token is stored."""

from __future__ import annotations

import hashlib
import secrets
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

import audit
from agreements import access
from agreements.errors import PermissionDenied, ValidationError
from agreements.models import Invitation, Membership, Team
from agreements.services import membership_set

VALID_FOR = timedelta(days=7)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def accept_url(raw: str) -> str:
    return settings.SITE_URL + reverse("invitation-accept", args=[raw])


@transaction.atomic
def invitation_create(
    *, user, team: Team, email: str, role: str, now: datetime
) -> tuple[Invitation, str]:
    """Invite `email` to `team` as `role` and email the link; returns the invitation and the
    raw token (never stored). Somebody who already has an account is added by name instead."""
    if not access.can_change_members(user, team):
        raise PermissionDenied("Only a manager of this team invites people to it.")
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationError({"email": "Enter a valid email address."}) from exc
    if role not in Membership.Role.values:
        raise ValidationError({"role": "Choose member or manager."})
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {"email": f"{email} already has an account: add them by username or email below."}
        )
    raw = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email,
        team=team,
        role=role,
        token_hash=hash_token(raw),
        invited_by=user,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    audit.record(
        "invitation.create",
        invitation,
        user=user,
        changes={"email": email, "role": role},
        teams=[team.pk],
    )
    inviter = user.get_full_name() or user.get_username()
    try:
        send_mail(
            subject=f"You are invited to {team.name} on SLA Hub",
            message=(
                f"{inviter} invites you to join {team.name} on SLA Hub as {role}.\n\n"
                f"Choose your username and password here (the link works once, until "
                f"{invitation.expires_at:%d %b %Y %H:%M} UTC):\n{accept_url(raw)}\n"
            ),
            from_email=None,
            recipient_list=[email],
        )
    except (OSError, smtplib.SMTPException) as exc:
        # Rolls the invitation back with it: nobody holds a link that was never sent.
        raise ValidationError(
            {"email": f"The invitation email could not be sent ({exc}); try again later."}
        ) from exc
    return invitation, raw


def invitation_for_token(raw: str, *, now: datetime) -> Invitation:
    """The invitation of a link, or a ValidationError saying why the link no longer works."""
    invitation = (
        Invitation.objects.select_related("team").filter(token_hash=hash_token(raw or "")).first()
    )
    if invitation is None:
        raise ValidationError("This invitation link is not valid. Ask for a new invitation.")
    if invitation.accepted_at is not None:
        raise ValidationError(
            "This invitation has already been used. Log in, or ask for a new invitation."
        )
    if invitation.expires_at <= now:
        raise ValidationError(
            f"This invitation expired on {invitation.expires_at:%d %b %Y %H:%M} UTC. "
            "Ask for a new invitation."
        )
    return invitation


@transaction.atomic
def invitation_accept(
    *,
    raw_token: str,
    username: str,
    password: str,
    now: datetime,
    first_name: str = "",
    last_name: str = "",
):
    """Use an invitation: create the user (with the invited email) and their membership.
    A link works once: a second use, or one after `expires_at`, is refused."""
    found = invitation_for_token(raw_token, now=now)
    invitation = Invitation.objects.select_for_update().get(pk=found.pk)
    invitation_for_token(raw_token, now=now)  # again, under the lock (two tabs, one link)
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation has already been used.")
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "Choose a username."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "This username is taken: choose another."})
    candidate = User(
        username=username,
        email=invitation.email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    try:
        candidate.full_clean(exclude=["password"])
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    candidate.set_password(password)
    candidate.save()
    membership_set(team=invitation.team, user=candidate, role=invitation.role)
    invitation.accepted_at = now
    invitation.accepted_by = candidate
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(
        "invitation.accept",
        invitation,
        user=candidate,
        changes={"username": username},
        teams=[invitation.team_id],
    )
    return candidate


def pending_invitations(team_ids, *, now: datetime):
    """Invitations of these teams not used yet and not expired, newest first."""
    return Invitation.objects.filter(
        team_id__in=list(team_ids), accepted_at__isnull=True, expires_at__gt=now
    ).order_by("-created_at")
