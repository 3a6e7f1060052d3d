"""The deadline scan: idle (the every-few-seconds case), and breaching the clocks loaded past
due beside its floor — one hand-written statement per batch of 500 that claims the clocks
(SKIP LOCKED), marks them breached (UPDATE … RETURNING) and inserts their breaches and their
alert rows with the same snapshot columns — on the same rows in the same run.

The section runs the floor and the scan on the same due clocks three times, in alternating
order, putting the clocks back in between; it leaves them breached by the scan, as before.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from benchmarks.context import Context
from benchmarks.table import Row, seconds

ROUNDS = 3

FLOOR_SQL = """
WITH claimed AS (
    SELECT id FROM leads_obligation
    WHERE status = 'open' AND due_at <= %(now)s AND lead_id IS NOT NULL
    ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED
), closed AS (
    UPDATE leads_obligation AS o SET status = 'breached', closed_at = %(now)s
    FROM claimed WHERE o.id = claimed.id
    RETURNING o.id, o.kind, o.side, o.team_id, o.user_id, o.lead_id, o.due_at, o.starts_at,
              o.attempt
), breached AS (
    INSERT INTO leads_breach (
        obligation_id, kind, side, team_id, user_id, lead_id, due_at, detected_at, status,
        acknowledge_note, dispute_reason, resolution, resolution_note
    )
    SELECT id, kind, side, team_id, user_id, lead_id, due_at, %(now)s, 'open', '', '', '', ''
    FROM closed
    RETURNING id, obligation_id, team_id, user_id, lead_id, due_at
), recipients AS (
    SELECT id AS breach_id, user_id FROM breached WHERE user_id IS NOT NULL
    UNION
    SELECT b.id, m.user_id FROM breached AS b
    JOIN agreements_membership AS m ON m.team_id = b.team_id AND m.role = 'manager'
), alerts AS (
    INSERT INTO alerts_alert (
        event, key, recipient_id, to_email, subject, body_text, body_html, facts, breach_id,
        obligation_id, status, created_at, next_attempt_at, attempts, claim_token, last_error
    )
    SELECT 'breach', 'breach:' || b.id, r.user_id, u.email, '', '', '',
           jsonb_build_object(
               'clock', c.kind, 'team', t.name, 'responsible', owner.username,
               'starts_at', c.starts_at, 'due_at', c.due_at, 'now', %(now)s::timestamptz,
               'lead', jsonb_build_object(
                   'id', l.id, 'label', l.name || ', ' || l.company, 'email', l.email,
                   'title', l.title
               ),
               'breach_id', b.id, 'detected_at', %(now)s::timestamptz,
               'overdue', %(now)s::timestamptz - c.due_at
           ),
           b.id, b.obligation_id, 'pending', %(now)s, %(now)s, 0, '', ''
    FROM recipients AS r
    JOIN breached AS b ON b.id = r.breach_id
    JOIN closed AS c ON c.id = b.obligation_id
    JOIN auth_user AS u ON u.id = r.user_id AND u.is_active AND u.email <> ''
    LEFT JOIN auth_user AS owner ON owner.id = b.user_id
    JOIN leads_lead AS l ON l.id = b.lead_id
    JOIN agreements_team AS t ON t.id = b.team_id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM breached), (SELECT count(*) FROM alerts)
"""


def _floor(now) -> tuple[int, int]:
    from django.db import connection, transaction

    breaches = alerts = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, {"now": now})
            batch, queued = cursor.fetchone()
        if not batch:
            return breaches, alerts
        breaches, alerts = breaches + batch, alerts + queued


def _put_back(obligation_ids: list[int]) -> None:
    """The due clocks open again, as loaded: no breach, alert, webhook or rollup mark."""
    from alerts.models import Alert
    from integrations.models import WebhookDelivery
    from leads.models import Breach, Obligation
    from reports.models import StaleLead

    Alert.objects.filter(obligation_id__in=obligation_ids).delete()
    WebhookDelivery.objects.all().delete()
    lead_ids = list(Breach.objects.filter(obligation_id__in=obligation_ids).values("lead_id"))
    StaleLead.objects.filter(lead_id__in=[row["lead_id"] for row in lead_ids]).delete()
    Breach.objects.filter(obligation_id__in=obligation_ids).delete()
    Obligation.objects.filter(pk__in=obligation_ids).update(status="open", closed_at=None)


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(ctx: Context) -> list[Row]:
    from django.db import connection, transaction

    from alerts.models import Alert
    from leads import checks
    from leads.selectors import open_obligations_due

    now = ctx.now
    idle = statistics.median(
        _timed(lambda: checks.deadline_scan(now=now - timedelta(hours=1)))[0] for _ in range(5)
    )
    with transaction.atomic():
        due = open_obligations_due(now).select_for_update(skip_locked=True)
        plan = due.order_by("due_at")[:500].explain()
    index = "obligation_open_due" in plan
    due_ids = list(open_obligations_due(now).values_list("pk", flat=True))

    ours, floor = [], []
    breached = alerts = floor_breached = floor_alerts = 0
    for round_ in range(ROUNDS):
        for which in ("floor", "ours") if round_ % 2 == 0 else ("ours", "floor"):
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE leads_obligation, leads_breach, alerts_alert")
            if which == "floor":
                elapsed, (floor_breached, floor_alerts) = _timed(lambda: _floor(now))
                floor.append(elapsed)
            else:
                elapsed, result = _timed(lambda: checks.deadline_scan(now=now))
                breached, alerts = result.breached, Alert.objects.count()
                ours.append(elapsed)
            last = round_ == ROUNDS - 1 and which == ("ours", "floor")[round_ % 2]
            if not last:
                _put_back(due_ids)
    if ROUNDS % 2 == 0:  # the last run was the floor: leave the clocks breached by the scan
        _put_back(due_ids)
        checks.deadline_scan(now=now)
    scan, scan_floor = statistics.median(ours), statistics.median(floor)
    return [
        Row(
            "deadline scan, nothing due",
            f"{seconds(idle)} median; partial index used: {index}",
            idle,
        ),
        Row(
            f"deadline scan breaching {breached} clocks ({alerts} alert rows)",
            f"{seconds(scan)} median of {ROUNDS}",
            scan,
            floor=f"one statement per 500 ({floor_breached} breaches, {floor_alerts} alerts)",
            floor_s=scan_floor,
            target="≤ 2× the floor",
        ),
    ]
