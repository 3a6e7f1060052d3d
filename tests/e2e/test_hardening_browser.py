"""Under the Content-Security-Policy (no inline script or style), in a real Chromium: the
Swagger UI draws the API from the schema behind login, and the audit log page is
accessible. Any CSP violation fails the test (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agreements import services as agreement_services
from tests.e2e.conftest import assert_accessible
from tests.e2e.demo import demo_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    return demo_org(timezone.now())


def test_swagger_ui_draws_the_api_under_the_csp(demo, open_page, live_server):
    org, _ = demo
    page = open_page(org.sales_manager)
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").filter(has_text="SLA Hub API").wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/leads/").first.wait_for()


def test_the_docs_send_a_visitor_to_the_login_page(browser, live_server, http_cookies):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/api/docs/")
        assert "/accounts/login/?next=/api/docs/" in page.url
    finally:
        context.close()


def test_the_audit_log_is_accessible(demo, open_page, live_server):
    org, _ = demo
    agreement_services.membership_set(team=org.sales, user=org.rep, role="member")
    page = open_page(org.sales_manager)
    page.goto(f"{live_server.url}/settings/audit/")
    page.locator("#audit-events").wait_for()
    assert_accessible(page)
