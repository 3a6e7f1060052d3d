"""Stage events found by time alone: the dispositions of a range (reports, every page)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0005_text_limits_rejection_contest'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='stageevent',
            index=models.Index(fields=['occurred_at'], name='stageevent_occurred_at'),
        ),
    ]
