"""`make bench`: each hot path beside its floor, measured in the same run, as a ratio.

Builds a throw-away database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
slahub_bench → test_slahub_bench), loads BENCH_LEADS leads with open clocks (BENCH_DUE of
them past due), runs each section of benchmarks/sections/ in order (BENCH_ONLY=a,b runs a
subset) and prints a progress line per section, then the table (benchmarks/table.py) in
Markdown, ready for docs/performance.md.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slahub.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/slahub_bench")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

N_LEADS = int(os.environ.get("BENCH_LEADS", "100000"))
DUE = int(os.environ.get("BENCH_DUE", "2000"))
REPEATS = 5


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
    import importlib

    from django.utils import timezone

    from benchmarks.context import Context
    from benchmarks.sections import SECTIONS
    from benchmarks.table import markdown

    if connection.vendor != "postgresql":
        print("make bench needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    rows = []
    try:
        now = timezone.now()
        print(
            f"# {N_LEADS} leads with open clocks, {DUE} past due; PostgreSQL "
            f"{connection.pg_version // 10000}; {os.cpu_count()} cores",
            flush=True,
        )
        ctx = Context(
            now=now, n_leads=N_LEADS, org=load(now), database_url=os.environ["DATABASE_URL"]
        )
        for name in SECTIONS:
            if only and name not in only:
                continue
            try:
                module = importlib.import_module(f"benchmarks.sections.{name}")
            except ModuleNotFoundError:
                continue
            started = time.perf_counter()
            section_rows = module.run(ctx)
            rows.extend(section_rows)
            print(f"# {name}: {time.perf_counter() - started:.1f} s", flush=True)
            for row in section_rows:
                print(f"#   {row.path}: {row.ours}", flush=True)
        print()
        print(markdown(rows))
        return 0
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    raise SystemExit(main())
