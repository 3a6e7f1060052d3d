"""Tokens (hashed, revocable, created by a command), the one error shape, 413, throttling
settings and the offline API docs."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from integrations.models import ApiToken
from integrations.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.services


def test_a_token_is_stored_only_as_a_hash(sla):
    token, key = api_token_create(user=sla.rep, name="CRM sync")

    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().get())


def test_token_authentication_and_revocation(sla, now, frozen):
    token, key = api_token_create(user=sla.rep, name="CRM sync")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get("/api/v1/leads/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == now

    api_token_revoke(token=token, now=now)
    refused = client.get("/api/v1/leads/")
    assert refused.status_code == 401
    assert refused.json() == {
        "status": 401,
        "code": "authentication_failed",
        "detail": "Invalid or revoked token.",
        "fields": {},
    }
    assert refused["WWW-Authenticate"] == "Token"


def test_anonymous_requests_get_401_in_the_error_shape(db):
    answer = APIClient().get("/api/v1/leads/")
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"


def test_session_auth_works_for_the_browser(sla, frozen):
    client = APIClient()
    client.force_login(sla.rep)
    assert client.get("/api/v1/teams/").status_code == 200


def test_create_api_token_command_prints_the_key_once(sla):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "rep", "--name", "cli", stdout=out, stderr=err)

    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=sla.rep, name="cli")
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/teams/").status_code == 200


def test_large_bodies_are_refused_with_413(sla, as_user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"leads": [{"external_id": str(n), "name": "x" * 50} for n in range(50)]}

    answer = as_user(sla.marketer).post("/api/v1/leads/bulk/", body, format="json")

    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"


def test_malformed_json_is_a_400(sla, as_user):
    answer = as_user(sla.marketer).post(
        "/api/v1/leads/", "{not json", content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "parse_error"


def test_throttling_is_on_by_default(settings):
    from rest_framework.settings import api_settings

    assert "slahub.api_defaults.UserRateThrottle" in [
        f"{c.__module__}.{c.__name__}" for c in api_settings.DEFAULT_THROTTLE_CLASSES
    ]
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"]


def test_schema_and_offline_docs(sla, as_user):
    client = as_user(sla.rep)  # behind login (docs/security.md): a token or a session
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/leads/bulk/" in paths
    assert "413" in paths["/api/v1/leads/bulk/"]["post"]["responses"]
    assert schema.json()["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"

    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_too_many_requests_get_429(sla, as_user, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "3/minute")
    client = as_user(sla.rep)
    answers = [client.get("/api/v1/teams/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    refused = client.get("/api/v1/teams/")
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_the_settings_share_the_cache_through_redis_when_there_is_one():
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    env = {"DJANGO_SETTINGS_MODULE": "slahub.settings", "SECRET_KEY": "x", "PATH": ""}
    for extra, backend in [
        ({"REDIS_URL": "redis://redis:6379/0"}, "django.core.cache.backends.redis.RedisCache"),
        ({}, "django.core.cache.backends.locmem.LocMemCache"),
    ]:
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == backend


def test_throttle_counters_live_in_redis_for_every_process(sla, as_user, monkeypatch, settings):
    import uuid

    import redis
    from rest_framework.throttling import UserRateThrottle

    from tests.conftest import redis_url

    url = redis_url()
    prefix = f"test-throttle-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "3/minute")
    server = redis.Redis.from_url(url)
    try:
        client = as_user(sla.rep)
        assert [client.get("/api/v1/teams/").status_code for _ in range(3)] == [200] * 3
        keys = server.keys(f"{prefix}:*throttle_user_*")
        assert len(keys) == 1  # the counter another worker process would read
        assert client.get("/api/v1/teams/").status_code == 429
    finally:
        for key in server.keys(f"{prefix}:*"):
            server.delete(key)


def test_the_api_answers_when_the_throttle_store_is_down(sla, as_user, settings, caplog):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    response = as_user(sla.rep).get("/api/v1/teams/")
    assert response.status_code == 200
    assert "API throttle: cache unreachable, request let through" in caplog.text
