"""A user's access flags (staff, superuser, active) are permissions too: a change to them,
from the admin or anywhere else, is logged as `user.access` for the user's teams."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

FLAGS = ("is_staff", "is_superuser", "is_active")


def _remember(sender, instance, update_fields=None, **kwargs) -> None:
    before = None
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        pass  # e.g. last_login at each login: no flag can change
    elif instance.pk is not None:
        before = sender.objects.filter(pk=instance.pk).values(*FLAGS).first()
    instance._audit_flags_before = before


def _record(sender, instance, created, raw=False, **kwargs) -> None:
    before = getattr(instance, "_audit_flags_before", None)
    if raw or created or before is None:
        return
    changed = {f: getattr(instance, f) for f in FLAGS if before[f] != getattr(instance, f)}
    if changed:
        import audit

        audit.record("user.access", instance, changes={"user": instance.get_username(), **changed})


def connect() -> None:
    user = get_user_model()
    pre_save.connect(_remember, sender=user, dispatch_uid="audit-user-flags-before")
    post_save.connect(_record, sender=user, dispatch_uid="audit-user-flags")
