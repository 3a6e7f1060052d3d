"""Who is acting: the request being served, for services that are not told their user
(commitment, membership, token and webhook changes). DRF puts its authenticated user (an
API token's) on the Django request too, so both the pages and the API are covered."""

from __future__ import annotations

from contextvars import ContextVar

_request: ContextVar = ContextVar("audit_request", default=None)


def current_user():
    """The signed-in user of the request being served, else None (a task, a command)."""
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


class AuditRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
