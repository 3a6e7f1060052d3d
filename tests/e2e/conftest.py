"""Headless Chromium (Debian's package) driven by Playwright against the live server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import service_missing

CHROMIUM = os.environ.get("SLAHUB_BROWSER", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    """One browser per test module, closed after it; the ORM may be used meanwhile
    (Playwright's sync API runs an event loop in this thread)."""
    if not Path(CHROMIUM).exists():
        service_missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def http_cookies(settings):
    """The live server speaks plain HTTP: cookies must not be Secure-only there."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def open_page(browser, live_server, http_cookies):
    """`open_page(user)`: a fresh browser context logged in through the login form."""
    contexts = []
    csp_errors: list[str] = []

    def _open(user, *, width: int = 1280, height: int = 900):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            timezone_id="Europe/Berlin",
            locale="en-GB",
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        # Every page runs under the Content-Security-Policy: a refused script, style or
        # connection shows in the console, and fails the test (at teardown).
        page.on(
            "console",
            lambda msg: "Content Security Policy" in msg.text and csp_errors.append(msg.text),
        )
        page.goto(f"{live_server.url}/")
        assert "/accounts/login/" in page.url  # every page is behind login
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill("pw")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("domcontentloaded")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert csp_errors == [], "\n".join(csp_errors)


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (vendored) in the page; the violations of these impacts."""
    # Served from the page's own origin: the CSP refuses inline script (add_script_tag's
    # `path` inlines the file).
    origin = "/".join(page.url.split("/", 3)[:3])
    page.route(
        f"{origin}/__axe__.js",
        lambda route: route.fulfill(path=str(AXE), content_type="application/javascript"),
    )
    page.add_script_tag(url=f"{origin}/__axe__.js")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=2)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
