import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from reports import loadgen, refresh


class Command(BaseCommand):
    help = (
        "Load a realistic year of report data (a new organisation with N handed-off leads, "
        "their stage history, touches, clocks and quota periods) with set-based SQL, then "
        "build the report rollups as the periodic check does. PostgreSQL only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, required=True, help="How many leads.")
        parser.add_argument(
            "--label",
            default="",
            help="Name of the new organisation (teams, agreement, users derive from it); "
            "default 'Load <time>'.",
        )
        parser.add_argument(
            "--no-rollups", action="store_true", help="Leave the rollups to the next refresh."
        )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("generate_load needs PostgreSQL (DATABASE_URL=postgres://…).")
        if options["leads"] < 1:
            raise CommandError("--leads must be at least 1.")
        now = timezone.now()
        label = options["label"] or f"Load {now:%Y%m%d%H%M%S}"
        started = time.perf_counter()
        with transaction.atomic():
            org = loadgen.load_year(options["leads"], now, label=label)
        self.stdout.write(
            f"Loaded {options['leads']} leads for agreement {org.agreement.pk} "
            f"({org.agreement.name}) in {time.perf_counter() - started:.1f} s; "
            f"sales manager: {org.manager.username} (no password set)."
        )
        if not options["no_rollups"]:
            started = time.perf_counter()
            result = refresh.refresh(now=now)
            self.stdout.write(f"Rollups: {result} in {time.perf_counter() - started:.1f} s.")
