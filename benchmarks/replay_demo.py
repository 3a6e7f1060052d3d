"""`python -m benchmarks.replay_demo`: the what-if replay on the demo data (`seed_demo` needs
an empty database, so this builds its own throw-away one: DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/slahub_bench → test_slahub_bench) and prints the rows of
`benchmarks.sections.replay.demo_rows` in Markdown."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slahub.settings_test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/slahub_bench")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def main() -> int:
    from django.utils import timezone

    from benchmarks.sections.replay import demo_rows
    from benchmarks.table import markdown

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(markdown(demo_rows(timezone.now())))
        return 0
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    raise SystemExit(main())
