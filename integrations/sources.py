"""Inbound webhook sources kept on the settings page (staff): add one, rotate its secret,
turn it off or on. The secret is shown once, after adding or rotating; the audit log never
holds it."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

import audit
from agreements import access
from agreements.errors import PermissionDenied, ValidationError
from integrations.models import WebhookSource, new_secret
from integrations.services import webhook_source_create


def _require(user) -> None:
    if not access.can_manage_webhook_sources(user):
        raise PermissionDenied("Only staff manage inbound webhook sources.")


@transaction.atomic
def webhook_source_add(
    *, user, name: str, slug: str, source_system: str = "", run_as=None
) -> tuple[WebhookSource, str]:
    _require(user)
    if WebhookSource.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": "Another source has this slug: choose another."})
    try:
        source, secret = webhook_source_create(
            name=name.strip(), slug=slug, source_system=source_system.strip(), run_as=run_as
        )
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    audit.record(
        "webhook_source.create",
        source,
        user=user,
        changes={"name": source.name, "slug": slug, "source_system": source.source_system},
    )
    return source, secret


@transaction.atomic
def webhook_source_rotate(*, user, source: WebhookSource) -> str:
    """A new secret: the old one stops working at once (the sender must be told)."""
    _require(user)
    source.secret = new_secret()
    source.save(update_fields=["secret"])
    audit.record("webhook_source.rotate", source, user=user, changes={"slug": source.slug})
    return source.secret


@transaction.atomic
def webhook_source_set_active(*, user, source: WebhookSource, active: bool) -> WebhookSource:
    _require(user)
    source.is_active = active
    source.save(update_fields=["is_active"])
    audit.record("webhook_source.active", source, user=user, changes={"is_active": active})
    return source
