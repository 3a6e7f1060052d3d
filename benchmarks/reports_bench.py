"""Report timings at size (called by `make bench` through benchmarks/run.py).

`run(n_leads)` loads a year of `n_leads` handed-off leads into the current PostgreSQL
database with `reports.loadgen.load_year` (set-based INSERT … SELECT, as
`manage.py generate_load`), builds the report rollups as the
periodic check would, times each report once on a warm cache (from the rollups, and live
for comparison), times a refresh after a day's worth of changed leads, and rolls
everything back. Returns seconds per measurement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

WINDOW_DAYS = 365  # reports.loadgen.WINDOW_DAYS (imported late: Django is set up later)


def _load(n_leads: int, now) -> dict:
    from reports.loadgen import load_year

    org = load_year(n_leads, now, label="Reports bench")
    return {"agreement": org.agreement, "manager": org.manager, "org": org}


def _timed(fn) -> float:
    fn()  # warm the cache, as a page in use would be
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _replay(statements: list[str]) -> None:
    """The page's own SQL, as sent, on a raw cursor (a server-side cursor's query run
    plainly; savepoints and session settings kept, so the plans are the page's)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            head = sql.lstrip()[:40].upper()
            if head.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN")):
                continue
            if head.startswith("DECLARE"):
                sql = sql.split(" FOR ", 1)[1]
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()


@dataclass
class PageTiming:
    name: str
    url: str
    seconds: float  # the whole page through the test client, logged in, warm
    floor_seconds: float  # the same page's SQL statements alone, replayed on a raw cursor
    queries: int


def page_urls(agreement_id: int, today) -> dict[str, str]:
    """The report pages timed whole, for one agreement."""
    urls = {}
    for days in (30, 365):
        start = (today - timedelta(days=days - 1)).isoformat()
        query = f"agreement={agreement_id}&start={start}&end={today.isoformat()}"
        urls[f"compliance page, {days} days"] = f"/reports/compliance/?{query}"
        urls[f"funnel page, {days} days"] = f"/reports/funnel/?{query}"
    urls["scorecard page (3 months)"] = f"/reports/scorecard/?agreement={agreement_id}"
    urls["review pack page (this month)"] = (
        f"/reports/review/?agreement={agreement_id}&month={today:%Y-%m}"
    )
    return urls


def time_pages(org, now, repeats: int = 3) -> list[PageTiming]:
    """Each report page whole (view, metrics, template), as the agreement's sales manager,
    through the Django test client: the best of `repeats` after a warm-up, beside its own
    SQL replayed alone (what the database needs for the page's figures)."""
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reports.loadgen import TIMEZONE

    client = Client()
    client.force_login(org.manager)
    timings = []
    for name, url in page_urls(org.agreement.pk, now.astimezone(ZoneInfo(TIMEZONE)).date()).items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        best = float("inf")
        for _ in range(repeats):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                client.get(url)
                best = min(best, time.perf_counter() - started)
        statements = [q["sql"] for q in queries.captured_queries]
        floor = min(_timed_once(lambda s=statements: _replay(s)) for _ in range(repeats))
        timings.append(PageTiming(name, url, best, floor, len(statements)))
    return timings


def _timed_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(n_leads: int, live: bool = True, pages: list[PageTiming] | None = None) -> dict[str, float]:
    """Seconds per report over a year of `n_leads` leads (PostgreSQL; rolled back after);
    with `live`, the pages are also timed without the rollups; given a list as `pages`,
    the whole pages are timed too (`time_pages`) and appended to it."""
    from dataclasses import replace

    from django.db import connection, transaction
    from django.utils import timezone

    from leads.models import Lead
    from reports import metrics, refresh, rollups, tables
    from reports.scorecard import scorecard
    from reports.selectors import report_filter

    if connection.vendor != "postgresql":
        raise RuntimeError("The reports benchmark needs PostgreSQL.")
    now = timezone.now()
    results: dict[str, float] = {}
    with transaction.atomic():
        org = _load(n_leads, now)
        user, agreement = org["manager"], org["agreement"]
        results["rollups: first build (whole year)"] = _once(lambda: refresh.refresh(now=now))
        # A day's worth of changed leads (a year's leads / 365), e.g. touched or re-tiered.
        changed = Lead.objects.filter(source_system="reports-bench").order_by("-id")
        rollups.mark_stale(changed.values_list("id", flat=True)[: max(1, n_leads // 365)])
        results["rollups: refresh after a day of changed leads"] = _once(
            lambda: refresh.refresh(now=now)
        )
        results["rollups: idle refresh (nothing changed)"] = _once(lambda: refresh.refresh(now=now))
        quarter = report_filter(user, now=now, agreement=agreement)  # the last 90 days
        year = report_filter(user, now=now, agreement=agreement, default_days=WINDOW_DAYS)
        month = report_filter(user, now=now, agreement=agreement, default_days=30)
        assert year.rolled_until is not None and year.funnel_rolled
        for name, f in (("30 days", month), ("90 days", quarter), ("365 days", year)):
            modes = [("", f)]
            if live:
                modes.append((" (live)", replace(f, rolled_until=None, funnel_rolled=False)))
            for mode, g in modes:
                results[f"compliance page tables, {name}{mode}"] = _timed(
                    lambda g=g: tables.compliance_tables(g, {})
                )
                results[f"funnel page tables, {name}{mode}"] = _timed(
                    lambda g=g: tables.funnel_tables(g, {})
                )
        if pages is not None:
            pages.extend(time_pages(org["org"], now))
        results["first-touch compliance alone, 365 days"] = _timed(
            lambda: metrics.sales_compliance(year)
        )
        results["scorecard (3 months)"] = _timed(lambda: scorecard(agreement, now=now))
        results["leads behind a figure (first page), 365 days"] = _timed(
            lambda: list(metrics.leads_behind(year, metric="first_touch", outcome="missed")[:50])
        )
        transaction.set_rollback(True)
    return results


if __name__ == "__main__":  # python -m benchmarks.reports_bench N (current DATABASE_URL)
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slahub.settings_test")
    django.setup()
    for label, seconds in run(int(sys.argv[1]) if len(sys.argv) > 1 else 10000).items():
        print(f"{label:<48} {seconds * 1000:10.1f} ms")
