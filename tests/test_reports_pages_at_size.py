"""The report pages ask the database the same few questions whatever the number of leads or
days: a year of generated leads (reports/loadgen.py) at two sizes, rollups built, each page
rendered whole as the agreement's sales manager."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import refresh
from reports.loadgen import load_year

# The most queries each page may take (session, user, visibility and terms included).
LIMITS = {"compliance": 26, "funnel": 14, "scorecard": 19, "review": 31}


def _urls(agreement_id: int, today: date) -> dict[str, str]:
    urls = {}
    for days in ("30", "365"):
        start = today - timedelta(days=int(days) - 1)
        query = f"agreement={agreement_id}&start={start}&end={today}"
        urls[f"compliance {days}"] = f"/reports/compliance/?{query}"
        urls[f"funnel {days}"] = f"/reports/funnel/?{query}"
    urls["scorecard"] = f"/reports/scorecard/?agreement={agreement_id}"
    urls["review"] = f"/reports/review/?agreement={agreement_id}&month={today:%Y-%m}"
    return urls


def _queries(client, org) -> dict[str, int]:
    client.force_login(org.manager)
    today = timezone.now().astimezone(ZoneInfo(org.agreement.calendar.timezone)).date()
    counts = {}
    for name, url in _urls(org.agreement.pk, today).items():
        client.get(url)  # sessions and caches warm, as for a page in use
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        counts[name] = len(queries)
    return counts


def test_report_pages_take_as_many_queries_for_ten_times_the_leads_and_a_year(
    client, require_postgres
):
    now = timezone.now()
    small = load_year(40, now, label="Small org")
    big = load_year(400, now, label="Big org")
    refresh.refresh(now=now)
    few, many = _queries(client, small), _queries(client, big)
    assert few == many
    for page in ("compliance", "funnel"):
        assert few[f"{page} 30"] == few[f"{page} 365"]
    for name, count in few.items():
        assert count <= LIMITS[name.split()[0]], (name, count)
