from django.core.management.base import BaseCommand
from django.utils import timezone

from agreements.models import Team
from leads import demo


class Command(BaseCommand):
    help = "Fill an empty database with a demo organisation and ~90 days of leads."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if data exists.")
        parser.add_argument("--days", type=int, default=90)

    def handle(self, *args, if_empty: bool, days: int, **options) -> None:
        if Team.objects.exists():
            if if_empty:
                self.stdout.write("Demo data: the database already has data; left as it is.")
                return
            self.stderr.write("The database is not empty; seed_demo only fills an empty one.")
            raise SystemExit(1)
        counts = demo.build(now=timezone.now(), days=days)
        self.stdout.write(f"Demo data: {counts['leads']} leads over {days} days.")
        self.stdout.write(f"Log in at http://127.0.0.1:8000/ with password {demo.PASSWORD!r}:")
        for username, first, last, side, role in demo.PEOPLE:
            self.stdout.write(f"  {username:8} {first} {last}, {side} {role}")
        self.stdout.write("  admin    (staff, Django admin at /admin/)")
