"""Auth hardening: login lockout glue (django-axes), the password-reset rate limit, the
API's `Cache-Control: no-store`, and who may read the API schema and docs (the views
are in slahub/api_docs.py; docs/security.md)."""

from __future__ import annotations

import hashlib
import ipaddress
import logging

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.cache import cache
from rest_framework.permissions import BasePermission

logger = logging.getLogger(__name__)

# Login lockout ---------------------------------------------------------------------------


class AxesBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login made from a request (the login page,
    the admin's). A login without a request (`Client.login` in tests, a shell) has no
    client address to count, so it is left to the next backend instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str | None:
    """The client address the lockout counts: behind the HTTPS proxy (BEHIND_HTTPS_PROXY)
    the last X-Forwarded-For entry, the one the proxy added; else the socket's address."""
    meta = getattr(request, "META", {})
    if settings.BEHIND_HTTPS_PROXY:
        forwarded = [p.strip() for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if forwarded and _is_ip(forwarded[-1]):
            return forwarded[-1]
    return meta.get("REMOTE_ADDR") or None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# Password reset --------------------------------------------------------------------------


def _within_limit(key: str, limit: int) -> bool:
    """Count one more in a fixed window; False once the count passes `limit`."""
    window = settings.PASSWORD_RESET_WINDOW_SECONDS
    if cache.add(key, 1, timeout=window):
        return limit >= 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, with at most PASSWORD_RESET_PER_EMAIL emails per address and
    PASSWORD_RESET_PER_IP requests per client address an hour. Over the limit the answer is
    the same "check your email" page as always (whether or not the address exists), and
    no email goes out."""

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        email_key = "pwreset:email:" + hashlib.sha256(email.encode()).hexdigest()
        ip_key = f"pwreset:ip:{client_ip(self.request) or '-'}"
        ip_ok = _within_limit(ip_key, settings.PASSWORD_RESET_PER_IP)
        email_ok = ip_ok and _within_limit(email_key, settings.PASSWORD_RESET_PER_EMAIL)
        if not (ip_ok and email_ok):
            logger.warning("password reset throttled for %s", client_ip(self.request))
            return super(auth_views.PasswordResetView, self).form_valid(form)  # no email
        return super().form_valid(form)


# API -------------------------------------------------------------------------------------


class ApiNoStoreMiddleware:
    """Every /api/ answer carries `Cache-Control: no-store`: API data is per user and must
    not stay in a browser's or a proxy's cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            response["Cache-Control"] = "no-store"
        return response


class ApiDocsPermission(BasePermission):
    """The schema and Swagger UI: for a logged-in user (session or API token), or for
    anyone with SLAHUB_PUBLIC_API_DOCS=1 (read at each request)."""

    def has_permission(self, request, view) -> bool:
        if getattr(settings, "SLAHUB_PUBLIC_API_DOCS", False):
            return True
        return bool(request.user and request.user.is_authenticated)


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane). Django's
    defaults (PBKDF2 at 1,000,000 iterations, or Argon2 at 100 MiB × 8 lanes) cost about a
    second of CPU per login on a 2-core server; this costs ~0.1 s and resists GPU cracking
    better than PBKDF2. A stored hash of another hasher is upgraded at the next login."""

    time_cost = 2
    memory_cost = 19_456  # KiB
    parallelism = 1
