import logging

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from alerts import checks as alert_checks
from leads import checks
from reports import refresh

log = logging.getLogger("slahub.checks")


def _sweep() -> list[str]:
    """Send what a lost broker message or a dead worker left waiting: webhook deliveries,
    imports and what-if replays."""
    from agreements.tasks import sweep_replays
    from integrations.tasks import sweep_imports, sweep_webhooks

    now = timezone.now()
    return [
        f"webhook sweep: {sweep_webhooks(now=now)} deliveries enqueued",
        f"import sweep: {sweep_imports(now=now)} imports enqueued",
        f"replay sweep: {sweep_replays(now=now)} replays enqueued",
    ]


class Command(BaseCommand):
    help = (
        "Run every periodic check once (deadline scan, warnings, quotas, report rollups, "
        "alerts, sweepers), as beat would. A failing step is reported and the others run."
    )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        steps = [
            ("checks", lambda: checks.run_all(now=now)),
            ("rollups", lambda: [str(refresh.refresh(now=now))]),
            ("sweepers", _sweep),
            ("alerts", lambda: alert_checks.run_all(timezone.now())),
        ]
        failed = []
        for name, step in steps:
            try:
                lines = step()
            except Exception as exc:  # noqa: BLE001 - one broken step must not stop the rest
                log.exception("run_checks: %s failed", name)
                self.stderr.write(f"{name}: failed: {type(exc).__name__}: {exc}")
                failed.append(name)
                continue
            for line in lines:
                self.stdout.write(line)
        if failed:
            raise CommandError(f"steps failed: {', '.join(failed)}")
