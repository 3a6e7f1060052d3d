"""The what-if replay of a draft (agreements.replay.compute) at size, beside its floor.

Loads a year of leads for a new organisation with `reports.loadgen.load_year` (as
`manage.py generate_load`), drafts version 2 from its terms with a tighter first touch and
decision, and times the replay of the last full quarter and of the whole year (every lead
loaded: the quarter-at-100k-leads case when BENCH_LEADS=100000). The floor is the same
rows read the cheapest way and counted by the same reports query on the recorded clocks
(the reads and the count with no replay in between), twice: one per side. Rolls back.
The demo data's timings: `python -m benchmarks.replay_demo` (`demo_rows`).
"""

from __future__ import annotations

import time
from datetime import timedelta

from benchmarks.context import Context
from benchmarks.table import Row, seconds


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def demo_rows(now) -> list[Row]:
    """The demo organisation (`seed_demo`'s 90 days, which needs a database of its own:
    `python -m benchmarks.replay_demo`), replayed: its last full quarter and its 90 days,
    under a draft that tightens every first touch to 15 minutes."""
    from zoneinfo import ZoneInfo

    from django.db import transaction

    from agreements import replay
    from agreements.models import Agreement
    from agreements.services import agreement_version_draft
    from leads import demo

    rows = []
    with transaction.atomic():
        demo.build(now=now)
        agreement = Agreement.objects.get(name__startswith="Demand Generation")
        draft = agreement_version_draft(agreement=agreement, summary="What if?")
        draft.commitments.filter(kind="first_touch").update(within="PT15M")
        quarter = replay.last_full_quarter(now, ZoneInfo(agreement.calendar.timezone))
        for label, start, end in [
            ("demo data, last full quarter", quarter.start, quarter.end),
            ("demo data, its 90 days", now - timedelta(days=91), now),
        ]:
            ours_s, result = _timed(
                lambda start=start, end=end: replay.compute(draft, start=start, end=end, now=now)
            )
            rows.append(
                Row(
                    f"what-if replay, {label} ({result['leads']:,} leads)",
                    seconds(ours_s),
                    ours_s,
                    target="seconds on the demo data",
                )
            )
        transaction.set_rollback(True)
    return rows


def run(ctx: Context) -> list[Row]:
    from datetime import time as t
    from zoneinfo import ZoneInfo

    from django.db import transaction

    from agreements import replay
    from agreements.models import WorkingHours
    from agreements.services import agreement_version_draft
    from reports.loadgen import TIMEZONE, WINDOW_DAYS, load_year
    from reports.metrics import ReportFilter

    now, rows = ctx.now, []
    with transaction.atomic():
        org = load_year(ctx.n_leads, now, label="Replay bench")
        WorkingHours.objects.bulk_create(  # the load's terms run on calendar time; a calendar
            WorkingHours(calendar=org.agreement.calendar, weekday=d, start=t(9), end=t(17))
            for d in range(5)  # still needs its hours, as every clock calendar does
        )
        draft = agreement_version_draft(agreement=org.agreement)
        draft.commitments.filter(kind="first_touch").update(within="PT30M")
        draft.commitments.filter(kind="disposition").update(within="P1D")
        draft.commitments.filter(kind="lead_volume").update(target=1200)
        tz = ZoneInfo(TIMEZONE)
        quarter = replay.last_full_quarter(now, tz)
        windows = [
            ("last full quarter", quarter.start, quarter.end),
            ("whole year", now - timedelta(days=WINDOW_DAYS), now),
        ]
        for label, start, end in windows:

            def floor(start=start, end=end) -> int:
                histories = replay.lead_histories(org.agreement, start, end)
                f = ReportFilter(
                    start=start,
                    end=now + timedelta(days=400),
                    now=now,
                    agreement_ids=(org.agreement.pk,),
                    sales_team_ids=(org.sales.pk,),
                    tz=tz,
                )
                for _ in range(2):
                    replay._counted(f, draft)  # the recorded clocks: no draft clock there
                return len(histories)

            floor_s, n = _timed(floor)
            ours_s, result = _timed(
                lambda start=start, end=end: replay.compute(draft, start=start, end=end, now=now)
            )
            assert result["leads"] == n
            rows.append(
                Row(
                    f"what-if replay, {label} ({n:,} leads, {result['changed_count']:,} change)",
                    seconds(ours_s),
                    ours_s,
                    floor="its reads and the reports' count alone",
                    floor_s=floor_s,
                    target="seconds on the demo; < 60 s for a quarter at 100k leads",
                )
            )
        transaction.set_rollback(True)
    return rows
