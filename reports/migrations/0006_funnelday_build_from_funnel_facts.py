"""FunnelDay for the teams that already have rollups, from their FunnelLead rows (one
INSERT … SELECT per team, as `reports.refresh` builds it)."""

from django.db import migrations

SUMS = {
    "mql": "COUNT(*)",
    "sal": "r_sal",
    "sql": "r_sql",
    "opportunity": "r_opportunity",
    "won": "r_won",
    "recycled": "r_recycled",
    "rejected": "r_rejected",
    "sla_kept": "ft_met AND NOT ft_breached",
    "sla_missed": "ft_breached",
    "sla_kept_sql": "ft_met AND NOT ft_breached AND r_sql",
    "sla_missed_sql": "ft_breached AND r_sql",
    "sla_kept_won": "ft_met AND NOT ft_breached AND r_won",
    "sla_missed_won": "ft_breached AND r_won",
}
BY = "owner_id, tier, lead_source, campaign"


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    sums = ", ".join(
        rule if rule.startswith("COUNT") else f"SUM(CASE WHEN {rule} THEN 1 ELSE 0 END)"
        for rule in SUMS.values()
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO reports_funnelday (team_id, day, {BY}, {', '.join(SUMS)})"  # nosec B608 # column names are code constants
            f" SELECT f.team_id, (f.entered_at AT TIME ZONE s.timezone)::date AS day, {BY}, {sums}"
            " FROM reports_funnellead f JOIN reports_rollupstate s ON s.team_id = f.team_id"
            f" WHERE f.ft_open_due IS NULL GROUP BY f.team_id, day, {BY}"
        )


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_funnelday")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
