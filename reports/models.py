"""Rollups the checks keep so that the reports stay fast at a million leads.

Each row is derived from the live tables by `reports.refresh` with the very queries of
`reports.metrics` (grouped finer); nothing here is entered by hand. See docs/metrics.md,
"Rollups".
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class RollupState(models.Model):
    """How far the rollups of one sales team go. Days are local days in `timezone` (the
    calendar of the team's first agreement); a report in another time zone reads live."""

    team = models.OneToOneField(
        "agreements.Team", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    timezone = models.CharField(max_length=64)
    through_day = models.DateField(help_text="Closed days up to this one are rolled up.")
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Rollups of team {self.team_id} through {self.through_day}"


class StaleLead(models.Model):
    """A lead changed since the rollups last read it (written in the changing transaction,
    consumed by the next refresh). Until then the funnel reads that lead live."""

    lead_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"Lead {self.lead_id} changed"


class ClockDay(models.Model):
    """Decided lead clocks of one local day (of their due time), by kind, clause, rep, tier
    and lead source. `ttft_seconds` (first touch only) holds each decided clock's delay to
    the first touch in seconds, null for a lead never touched, so that percentiles stay exact."""

    agreement = models.ForeignKey(
        "agreements.Agreement", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    kind = models.CharField(max_length=15)
    clause = models.UUIDField(null=True)  # the commitment's clause (the same across versions)
    user_id = models.BigIntegerField(null=True)
    tier = models.CharField(max_length=20, blank=True)
    lead_source = models.CharField(max_length=100, blank=True)
    decided = models.PositiveIntegerField(default=0)
    met = models.PositiveIntegerField(default=0)
    made = models.PositiveIntegerField(default=0)
    # float8[] on PostgreSQL, the only database that keeps rollups (SQLite just creates it).
    ttft_seconds = ArrayField(models.FloatField(null=True), default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["agreement", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.met}/{self.decided} met"


class DispositionDay(models.Model):
    """Acceptances and rejections of a sales team's leads on one local day, by the lead's
    owner, tier, lead source and the reason recorded with a rejection."""

    team = models.ForeignKey("agreements.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    owner_id = models.BigIntegerField(null=True)
    tier = models.CharField(max_length=20, blank=True)
    lead_source = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    accepted = models.PositiveIntegerField(default=0)
    # Net of the contested rejections returned to the rep that day: may be negative.
    rejected = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["team", "day"])]

    def __str__(self) -> str:
        return f"{self.day}: {self.accepted} accepted, {self.rejected} rejected"


class FunnelLead(models.Model):
    """One lead's funnel facts: when it entered the funnel, the stages it reached, and its
    first-touch clocks (met, breached, earliest open due time: 'missed' is judged at `now`)."""

    lead = models.OneToOneField(
        "leads.Lead", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    team_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(null=True)
    tier = models.CharField(max_length=20, blank=True)
    lead_source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    entered_at = models.DateTimeField()
    r_sal = models.BooleanField(default=False)
    r_sql = models.BooleanField(default=False)
    r_opportunity = models.BooleanField(default=False)
    r_won = models.BooleanField(default=False)
    r_recycled = models.BooleanField(default=False)
    r_rejected = models.BooleanField(default=False)
    ft_met = models.BooleanField(default=False)
    ft_breached = models.BooleanField(default=False)
    ft_open_due = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["team_id", "entered_at"])]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} entered {self.entered_at:%Y-%m-%d}"
