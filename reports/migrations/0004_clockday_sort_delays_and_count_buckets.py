"""Existing first-touch rollup rows: their delays sorted (smallest first, untouched last) and
counted per fine bucket (with where each bucket ends in the sorted delays), as `reports.refresh` now writes them; one set-based UPDATE."""

from django.db import migrations

from reports.metrics.live import TTFT_EDGES

SQL = """
UPDATE reports_clockday SET
  ttft_seconds = COALESCE(
    (SELECT array_agg(v ORDER BY v NULLS LAST) FROM unnest(ttft_seconds) v), '{}'),
  ttft_buckets = COALESCE((SELECT array_agg(b ORDER BY b) FROM (
    SELECT width_bucket(v, %(edges)s::float8[]) b FROM unnest(ttft_seconds) v
    WHERE v IS NOT NULL GROUP BY 1) x), '{}'),
  ttft_counts = COALESCE((SELECT array_agg(n ORDER BY b) FROM (
    SELECT width_bucket(v, %(edges)s::float8[]) b, count(*) n FROM unnest(ttft_seconds) v
    WHERE v IS NOT NULL GROUP BY 1) x), '{}'),
  ttft_ends = COALESCE((SELECT array_agg(n ORDER BY b) FROM (
    SELECT b, SUM(count(*)) OVER (ORDER BY b) AS n FROM (
      SELECT width_bucket(v, %(edges)s::float8[]) b FROM unnest(ttft_seconds) v
      WHERE v IS NOT NULL) y GROUP BY b) x), '{}')
WHERE kind = 'first_touch'
"""


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return  # no rollups elsewhere
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SQL, {"edges": list(TTFT_EDGES)})


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_clockday_ttft_buckets")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
