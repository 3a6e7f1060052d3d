"""`make bench`: times the hot paths on PostgreSQL at a realistic size.

Builds a throw-away database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
slahub_bench → test_slahub_bench), loads leads and open clocks in bulk, and times:
  - a lead hand-off and a logged touch through the services (per operation),
  - the deadline scan breaching a batch of due clocks among many open ones,
  - a deadline scan with nothing due (the every-minute case),
  - the reports, if benchmarks/reports_bench.py is present.
Prints one line per figure: median and max of the repeats, in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slahub.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/slahub_bench")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

N_LEADS = int(os.environ.get("BENCH_LEADS", "100000"))
DUE = int(os.environ.get("BENCH_DUE", "2000"))
REPEATS = 5


def timed(fn, repeats: int = REPEATS) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    print(f"{name:<52} median {statistics.median(samples):9.1f} ms   max {max(samples):9.1f} ms")


def load(now):
    """N_LEADS handed-off leads, each with an open first-touch clock; DUE of them past due."""
    from leads.models import Lead, Obligation
    from tests.factories import activate, add_commitment, make_org

    org = make_org(now=now)
    commitment = add_commitment(org.version, "first_touch", within="PT4H")
    activate(org, now=now)
    leads = Lead.objects.bulk_create(
        Lead(
            source_system="bench",
            external_id=str(i),
            name=f"Lead {i}",
            stage="mql",
            owner=org.rep,
            sales_team=org.sales,
            handed_off_at=now,
            agreement_version=org.version,
        )
        for i in range(N_LEADS)
    )
    Obligation.objects.bulk_create(
        Obligation(
            kind="first_touch",
            side="sales",
            commitment=commitment,
            agreement_version=org.version,
            lead=lead,
            team=org.sales,
            user=org.rep,
            starts_at=now,
            warn_at=now + timedelta(days=30),
            due_at=now + timedelta(minutes=i) if i >= DUE else now - timedelta(minutes=1),
        )
        for i, lead in enumerate(leads)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return org


def main() -> int:
    from django.utils import timezone

    from integrations import services as integration_services
    from leads import checks, services
    from tests.factories import make_lead

    if connection.vendor != "postgresql":
        print("make bench needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        now = timezone.now()
        print(
            f"# {N_LEADS} leads with open clocks, {DUE} past due; PostgreSQL "
            f"{connection.pg_version // 10000}"
        )
        org = load(now)

        def hand_off():
            make_lead(org, now=now, handed_off_at=now)

        report("hand-off of one lead (opens its clocks)", timed(hand_off, 20))
        lead = make_lead(org, now=now, handed_off_at=now)
        report(
            "logged touch meeting a first touch",
            timed(
                lambda: services.activity_log(
                    lead=lead, kind="call", occurred_at=now, now=now, user=org.rep
                ),
                20,
            ),
        )
        report(
            "deadline scan, nothing due (every minute)",
            timed(lambda: checks.deadline_scan(now=now - timedelta(hours=1))),
        )
        start = time.perf_counter()
        result = checks.deadline_scan(now=now)
        scan_ms = (time.perf_counter() - start) * 1000
        assert result.breached >= DUE, result
        report(f"deadline scan breaching {result.breached} clocks", [scan_ms])
        with transaction.atomic():
            due = checks.open_obligations_due(now).select_for_update(skip_locked=True)
            plan = due.order_by("due_at")[:500].explain()
        print(f"# scan plan uses the partial index: {'obligation_open_due' in plan}")
        items = [
            {
                "data": {
                    "external_id": f"bulk-{i}",
                    "name": f"Bulk lead {i}",
                    "sales_team": org.sales,
                    "marketing_team": org.marketing,
                    "owner": org.rep,
                    "handed_off_at": now,
                }
            }
            for i in range(1000)
        ]
        start = time.perf_counter()
        outcomes = integration_services.lead_upsert_many(items, now=now)
        bulk_ms = (time.perf_counter() - start) * 1000
        assert all(o["result"] == "created" for o in outcomes), outcomes[:3]
        report("bulk upsert of 1,000 handed-off leads (one request)", [bulk_ms])
        try:
            from benchmarks import reports_bench
        except ImportError:
            return 0
        for name, seconds in reports_bench.run(N_LEADS).items():
            report(f"report: {name}", [seconds * 1000])
        return 0
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    raise SystemExit(main())
