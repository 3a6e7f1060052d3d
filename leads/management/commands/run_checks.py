from django.core.management.base import BaseCommand
from django.utils import timezone

from alerts import checks as alert_checks
from leads import checks
from reports import refresh


class Command(BaseCommand):
    help = (
        "Run every periodic check once (deadline scan, warnings, quotas, report rollups), "
        "as beat would."
    )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        lines = checks.run_all(now=now) + [str(refresh.refresh(now=now))]
        for line in lines + alert_checks.run_all(timezone.now()):
            self.stdout.write(line)
