"""What every page shows a manager: the proposals waiting for his side's signature."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def awaiting_signature(request: HttpRequest) -> dict:
    """`awaiting_signature`: the proposed versions a side the user manages has not signed
    (one query, run only when a page shows it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from agreements.access import awaiting_signature_of

    return {"awaiting_signature": SimpleLazyObject(lambda: list(awaiting_signature_of(user)))}


# The role homes (agreements.selectors.Roles.home), where an owner's action items show.
HOME_PAGES = {"queue", "team-home", "marketing-home", "welcome"}


def open_action_items(request: HttpRequest) -> dict:
    """`open_action_items` on the home pages: the review action items the user owns and has
    not done (one query, run only when the page shows them)."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    if user is None or not user.is_authenticated or match is None:
        return {}
    if match.url_name not in HOME_PAGES:
        return {}
    from agreements.selectors import open_action_items_of

    return {"open_action_items": SimpleLazyObject(lambda: list(open_action_items_of(user)))}
