"""ReachDay starts empty: the teams' rollups are dropped so that the next refresh builds them
again, ReachDay included (until then the reports read live)."""

from django.db import migrations


def forwards(apps, schema_editor) -> None:
    apps.get_model("reports", "RollupState").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_reachday")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
