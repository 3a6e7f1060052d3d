"""Front-end files are vendored (no CDN) and survive the production static pipeline."""

import re

from django.core.management import call_command
from django.urls import reverse


def test_pages_load_only_local_scripts_and_styles(client, org):
    client.force_login(org.marketing_manager)
    html = client.get(reverse("marketing-home")).content.decode()
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert {"/static/vendor/htmx.min.js", "/static/js/app.js", "/static/css/app.css"} <= set(assets)
    assert all(url.startswith("/static/") for url in assets), assets


def test_collectstatic_with_the_production_storage(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", "--verbosity", "0")
    vendor = {p.name for p in (tmp_path / "vendor").iterdir()}
    assert {"chart.umd.min.js", "chart.umd.min.js.map", "htmx.min.js"} <= vendor
    assert any(re.fullmatch(r"chart\.umd\.min\.[0-9a-f]{12}\.js", name) for name in vendor)
