from django.core.management.base import BaseCommand
from django.utils import timezone

from alerts import checks as alert_checks
from leads import checks


class Command(BaseCommand):
    help = "Run every periodic check once (deadline scan, warnings, quotas), as beat would."

    def handle(self, *args, **options) -> None:
        for line in checks.run_all(now=timezone.now()) + alert_checks.run_all(timezone.now()):
            self.stdout.write(line)
