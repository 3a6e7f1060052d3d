"""Bulk upsert of 1,000 handed-off leads in one call, as `POST /api/v1/leads/bulk/` makes it."""

from __future__ import annotations

import time

from benchmarks.context import Context
from benchmarks.table import Row, seconds


def run(ctx: Context) -> list[Row]:
    from integrations import services as integration_services

    org, now = ctx.org, ctx.now
    items = [
        {
            "data": {
                "external_id": f"bulk-{i}",
                "name": f"Bulk lead {i}",
                "sales_team": org.sales,
                "marketing_team": org.marketing,
                "owner": org.rep,
                "handed_off_at": now,
            }
        }
        for i in range(1000)
    ]
    start = time.perf_counter()
    outcomes = integration_services.lead_upsert_many(items, now=now)
    took = time.perf_counter() - start
    assert all(o["result"] == "created" for o in outcomes), outcomes[:3]
    return [Row("bulk upsert, 1,000 handed-off leads", seconds(took), took)]
