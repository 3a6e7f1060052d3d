from django.core.management.base import BaseCommand
from django.utils import timezone

from leads import checks


class Command(BaseCommand):
    help = "Run every periodic check once (deadline scan, warnings, quotas), as beat would."

    def handle(self, *args, **options) -> None:
        for line in checks.run_all(now=timezone.now()):
            self.stdout.write(line)
