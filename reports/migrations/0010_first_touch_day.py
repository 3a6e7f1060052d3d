"""FirstTouchDay starts empty: the teams' rollups are dropped so that the next refresh builds
them again, FirstTouchDay included (until then the reports read live)."""

import reports.fields
import django.db.models.deletion
from django.db import migrations, models


def rebuild_rollups(apps, schema_editor) -> None:
    apps.get_model("reports", "RollupState").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('agreements', '0007_text_limits'),
        ('reports', '0009_net_rejections'),
    ]

    operations = [
        migrations.CreateModel(
            name='FirstTouchDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('bucket', models.SmallIntegerField(null=True)),
                ('clocks', models.PositiveIntegerField(default=0)),
                ('seconds', reports.fields.ArrayField(base_field=models.FloatField(), blank=True, default=list, size=None)),
                ('agreement', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='agreements.agreement')),
            ],
            options={
                'indexes': [models.Index(fields=['agreement', 'day'], name='reports_fir_agreeme_73771c_idx')],
            },
        ),
        migrations.RunPython(rebuild_rollups, migrations.RunPython.noop),
    ]
