"""Auth hardening (docs/security.md): login lockout, the password-reset limit, the CSP and
no inline script, HSTS and the proxy header under their flag, the API's no-store, the
schema and docs behind login, and `check --deploy` clean in production settings."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import make_first_touch_breach, make_user

ROOT = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


# Login lockout -----------------------------------------------------------------------------


def _login(client, username, password, url="login", **extra):
    return client.post(reverse(url), {"username": username, "password": password}, **extra)


@pytest.fixture
def lockout(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def test_a_login_is_locked_after_n_failures_even_with_the_right_password(client, org, lockout):
    start = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
    with time_machine.travel(start, tick=False):
        for _ in range(2):
            assert "didn't match" in _login(client, "rep", "wrong").content.decode()
        assert _login(client, "rep", "wrong").status_code == 429  # the 3rd failure locks
        locked = _login(client, "rep", "pw")
        assert locked.status_code == 429
        assert "Too many failed logins" in locked.content.decode()
        assert "_auth_user_id" not in client.session
        # Another address is not locked out by someone else's guesses (username + IP).
        elsewhere = _login(Client(REMOTE_ADDR="10.9.9.9"), "rep", "pw")
        assert elsewhere.status_code == 302
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert _login(client, "rep", "pw").status_code == 429
    # A try during the lockout starts the cool-off again (django-axes' default).
    with time_machine.travel(start + timedelta(minutes=28), tick=False):
        assert _login(client, "rep", "pw").status_code == 429
    with time_machine.travel(start + timedelta(minutes=45), tick=False):
        assert _login(client, "rep", "pw").status_code == 302
        assert client.session["_auth_user_id"] == str(org.rep.pk)


def test_the_admin_login_is_locked_too(client, db, lockout, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    url = reverse("admin:login")
    for _ in range(2):
        assert client.post(url, {"username": "boss", "password": "x"}).status_code == 200
    assert client.post(url, {"username": "boss", "password": "x"}).status_code == 429
    locked = client.post(url, {"username": "boss", "password": "pw", "next": "/admin/"})
    assert locked.status_code == 429
    assert client.get("/admin/").status_code == 302  # still not in


def test_the_lockout_counts_the_proxys_address_only_behind_the_proxy(settings):
    from django.test import RequestFactory

    from slahub.security import client_ip

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8"
    )
    settings.BEHIND_HTTPS_PROXY = False
    assert client_ip(request) == "10.0.0.1"
    settings.BEHIND_HTTPS_PROXY = True
    assert client_ip(request) == "5.6.7.8"


def test_lockout_settings_come_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), "
        "s.AXES_LOCKOUT_PARAMETERS)"
    )
    out = _settings_subprocess(code, AXES_FAILURE_LIMIT="7", AXES_COOLOFF_MINUTES="30")
    assert out == "7 1800 [['username', 'ip_address']]"


# Password reset ----------------------------------------------------------------------------


def test_password_reset_emails_are_limited_per_address(client, org, settings):
    settings.PASSWORD_RESET_PER_EMAIL = 3
    answers = [
        client.post(reverse("password_reset"), {"email": "rep@example.com"}) for _ in range(20)
    ]
    assert {(a.status_code, a.url) for a in answers} == {(302, reverse("password_reset_done"))}
    assert len(mail.outbox) == 3


def test_password_reset_is_limited_per_client_address(client, org, settings):
    settings.PASSWORD_RESET_PER_IP = 4
    for i in range(6):
        make_user(f"user{i}")
    for i in range(6):
        answer = client.post(reverse("password_reset"), {"email": f"user{i}@example.com"})
        assert answer.status_code == 302
    assert len(mail.outbox) == 4
    other = Client(REMOTE_ADDR="10.1.1.1")
    other.post(reverse("password_reset"), {"email": "user5@example.com"})
    assert len(mail.outbox) == 5


def test_password_reset_answers_the_same_for_an_unknown_address(client, org):
    known = client.post(reverse("password_reset"), {"email": "rep@example.com"}, follow=True)
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    token = re.compile(r'"X-CSRFToken": "[^"]*"')
    assert token.sub("", known.content.decode()) == token.sub("", unknown.content.decode())
    assert len(mail.outbox) == 1


# CSP and no inline script --------------------------------------------------------------------

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def assert_no_inline_code(html: str, where: str) -> None:
    for attrs in SCRIPT_TAG.findall(html):
        assert "src=" in attrs or 'type="application/json"' in attrs, f"{where}: <script{attrs}>"
    assert not INLINE_HANDLER.search(html), f"{where}: an inline event handler"
    assert not STYLE_ATTR.search(html), f"{where}: an inline style attribute"
    assert "<style" not in html.lower(), f"{where}: a <style> element"


@pytest.fixture
def breach(org):
    return make_first_touch_breach(org)


PAGES = [
    ("queue", "rep", []),
    ("team-home", "sales_manager", []),
    ("marketing-home", "marketing_manager", []),
    ("lead-detail", "sales_manager", ["lead"]),
    ("breach-list", "sales_manager", []),
    ("breach-detail", "sales_manager", ["breach"]),
    ("agreement-list", "sales_manager", []),
    ("agreement-detail", "sales_manager", ["agreement"]),
    ("settings", "sales_manager", []),
    ("settings-calendars", "sales_manager", []),
    ("settings-teams", "sales_manager", []),
    ("settings-reasons", "sales_manager", []),
    ("settings-notifications", "sales_manager", []),
    ("settings-tokens", "sales_manager", []),
    ("settings-audit", "sales_manager", []),
    ("reports:compliance", "sales_manager", []),
    ("reports:funnel", "sales_manager", []),
    ("reports:leads", "sales_manager", []),
    ("reports:scorecard", "sales_manager", []),
    ("reports:review", "sales_manager", []),
    ("api-docs", "sales_manager", []),
]


@pytest.mark.parametrize("name, who, args", PAGES)
def test_pages_carry_the_csp_and_run_no_inline_script(client, org, breach, name, who, args):
    ids = {"lead": breach.lead_id, "breach": breach.pk, "agreement": org.agreement.pk}
    client.force_login(getattr(org, who))
    response = client.get(reverse(name, args=[ids[a] for a in args]), follow=True)
    assert response.status_code == (400 if name == "reports:leads" else 200), name  # no filter
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert_no_inline_code(response.content.decode(), name)


@pytest.mark.parametrize("name", ["login", "password_reset"])
def test_the_public_pages_run_no_inline_script_either(client, db, name):
    response = client.get(reverse(name))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert_no_inline_code(response.content.decode(), name)


def test_the_swagger_start_script_is_a_file(client, org):
    client.force_login(org.rep)
    page = client.get(reverse("api-docs")).content.decode()
    src = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1)
    script = client.get(src.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


# HSTS and the proxy header --------------------------------------------------------------------


def _settings_subprocess(code: str, **env) -> str:
    base = {
        "DJANGO_SETTINGS_MODULE": "slahub.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "sla.example.com",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_proxy_header_is_trusted_only_under_its_flag():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT)"
    )
    assert _settings_subprocess(code) == "None 31536000 True"
    assert _settings_subprocess(code, BEHIND_HTTPS_PROXY="1") == (
        "('HTTP_X_FORWARDED_PROTO', 'https') 31536000 True"
    )
    assert _settings_subprocess(code, SECURE_COOKIES="0") == "None 0 False"


@pytest.fixture
def https_production(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


def test_behind_the_proxy_https_requests_get_hsts(client, db, settings, https_production):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain.url.startswith("https://")


def test_without_the_flag_a_forwarded_proto_is_not_believed(client, db, settings, https_production):
    settings.SECURE_PROXY_SSL_HEADER = None
    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert "Strict-Transport-Security" not in response


# API ----------------------------------------------------------------------------------------


def test_api_answers_are_not_stored(client, org):
    client.force_login(org.rep)
    for url in ["/api/v1/teams/", "/api/v1/nothing-here/", reverse("api-schema")]:
        assert client.get(url)["Cache-Control"] == "no-store", url
    assert Client().get("/api/v1/teams/")["Cache-Control"] == "no-store"
    assert "no-store" not in client.get(reverse("queue")).get("Cache-Control", "")


def test_the_schema_and_docs_need_a_login(client, org):
    schema = client.get(reverse("api-schema"), {"format": "json"})
    assert schema.status_code == 401
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 302
    assert docs.url.startswith(reverse("login") + "?next=")
    client.force_login(org.rep)
    assert client.get(reverse("api-schema"), {"format": "json"}).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200


def test_the_schema_and_docs_can_be_public(client, db, settings):
    settings.SLAHUB_PUBLIC_API_DOCS = True
    assert client.get(reverse("api-schema"), {"format": "json"}).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200


# check --deploy ---------------------------------------------------------------------------


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            "DJANGO_SETTINGS_MODULE": "slahub.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "sla.example.com",
            "SECURE_COOKIES": "1",
            "BEHIND_HTTPS_PROXY": "1",
            "SLAHUB_VAR_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
