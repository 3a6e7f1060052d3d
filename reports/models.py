"""Rollups the checks keep so that the reports stay fast at a million leads.

Each row is derived from the live tables by `reports.refresh` with the very queries of
`reports.metrics` (grouped finer); nothing here is entered by hand. See docs/metrics.md,
"Rollups".
"""

from __future__ import annotations

from django.db import models

from reports.fields import ArrayField


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
    the first touch in seconds, smallest first, null (last) for a lead never touched, so that
    percentiles stay exact; `ttft_buckets`/`ttft_counts` count those delays per fine bucket
    (`reports.metrics.TTFT_EDGES`, non-empty buckets only), so that a percentile is found
    from the counts and only its bucket's delays are read (slices of `ttft_seconds`)."""

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
    ttft_buckets = ArrayField(models.SmallIntegerField(), default=list, blank=True)
    ttft_counts = ArrayField(models.IntegerField(), default=list, blank=True)
    # Where each of those buckets ends in `ttft_seconds` (running sum of the counts, 1-based).
    ttft_ends = ArrayField(models.IntegerField(), default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["agreement", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.met}/{self.decided} met"


class FirstTouchDay(models.Model):
    """The delays to the first touch of one agreement's decided first-touch clocks due on one
    local day, in one fine bucket (`reports.metrics.TTFT_EDGES`; null: never touched): how
    many, and the delays themselves in seconds, smallest first. `ClockDay`'s delays added up
    over rep, tier, lead source and clause, so that a report with none of those filters finds
    its percentiles from a few rows per day (no array of counts unnested per row) and reads
    only the delays of the buckets that hold the ranks."""

    agreement = models.ForeignKey(
        "agreements.Agreement", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    bucket = models.SmallIntegerField(null=True)
    clocks = models.PositiveIntegerField(default=0)
    seconds = ArrayField(models.FloatField(), default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["agreement", "day"])]

    def __str__(self) -> str:
        return f"{self.day} bucket {self.bucket}: {self.clocks} first touches"


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
        indexes = [
            models.Index(fields=["team_id", "entered_at"]),
            # The leads `FunnelDay` leaves out (an open first-touch clock), read one by one.
            models.Index(
                fields=["team_id", "entered_at"],
                condition=models.Q(ft_open_due__isnull=False),
                name="funnellead_open_first_touch",
            ),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} entered {self.entered_at:%Y-%m-%d}"


class FunnelDay(models.Model):
    """The funnel facts of a sales team's leads that entered the funnel on one local day (in
    the team's rollup time zone), added up by owner, tier, lead source and campaign: kept
    equal to the sum of their `FunnelLead` rows, for the leads whose first-touch clocks are
    all decided (no open one: `ft_open_due` empty), so that no count here depends on `now`."""

    team = models.ForeignKey("agreements.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    owner_id = models.BigIntegerField(null=True)
    tier = models.CharField(max_length=20, blank=True)
    lead_source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    mql = models.PositiveIntegerField(default=0)  # leads
    sal = models.PositiveIntegerField(default=0)
    sql = models.PositiveIntegerField(default=0)
    opportunity = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    recycled = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    sla_kept = models.PositiveIntegerField(default=0)
    sla_missed = models.PositiveIntegerField(default=0)
    sla_kept_sql = models.PositiveIntegerField(default=0)
    sla_missed_sql = models.PositiveIntegerField(default=0)
    sla_kept_won = models.PositiveIntegerField(default=0)
    sla_missed_won = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["team", "day"])]

    def __str__(self) -> str:
        return f"{self.day}: {self.mql} entered the funnel"


class ReachDay(models.Model):
    """How many of a sales team's leads first reached a stage (or a later one) on one local
    day: the quota check's rule (`leads.selectors.leads_reaching_stage`), so that a running
    volume period's closed days are read from here and only the rest live."""

    team = models.ForeignKey("agreements.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    stage = models.CharField(max_length=5)  # a volume commitment's stage (mql, sal, sql)
    leads = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["team", "stage", "day"])]

    def __str__(self) -> str:
        return f"{self.day}: {self.leads} first reached {self.stage}"
