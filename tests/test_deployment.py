"""The files that start SLA Hub elsewhere stay true to the settings they feed.

Docker cannot run on the build machine, so docker-compose.yml is checked as data."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_production_set():
    services = compose()["services"]
    assert set(services) == {"db", "redis", "mail", "web", "worker", "beat"}
    assert "gunicorn slahub.wsgi" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A slahub worker")
    assert services["beat"]["command"].startswith("celery -A slahub beat")
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."  # one image, defined once (YAML anchor)


def test_compose_environment_is_what_the_settings_read():
    settings = (ROOT / "slahub" / "settings.py").read_text()
    env = compose()["services"]["web"]["environment"]
    for name in env:
        assert re.search(rf'"{name}"', settings), f"settings.py does not read {name}"
    assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["EMAIL_URL"] == "smtp://mail:1025"


def test_production_refuses_to_start_without_a_secret_key():
    code = "import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "slahub.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_embedded_default_needs_no_server(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            "DJANGO_SETTINGS_MODULE": "slahub.settings",
            "DEBUG": "1",
            "SLAHUB_VAR_DIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "True"]
