from django.core.management.base import BaseCommand
from django.utils import timezone

from reports import refresh


class Command(BaseCommand):
    help = (
        "Bring the report rollups up to date, as the periodic check does; with --rebuild, "
        "drop them and build them again from the live tables."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Rebuild from scratch.")

    def handle(self, *args, **options) -> None:
        run = refresh.rebuild if options["rebuild"] else refresh.refresh
        self.stdout.write(str(run(now=timezone.now())))
