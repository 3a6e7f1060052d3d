"""Every CSV SLA Hub writes — report tables, the lead list, an import's row report — with a
formula planted in each text a user controls: not one cell comes back live."""

import csv
import io

import pytest
import time_machine
from django.urls import reverse

from integrations.models import Import, ImportRow
from leads.models import Lead, StageEvent
from slahub.csv_export import FORMULA_START
from tests.test_reports_data import NOW, build_november
from tests.test_reports_pages import COMPLIANCE_TABLES, FUNNEL_TABLES, NOV

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1,2)"]


def _live_cells(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(body.decode())))
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(FORMULA_START) and not cell.lstrip("+-").replace(".", "").isdigit()
    ]


@pytest.fixture
def planted(org):
    nov = build_november(org)
    for i, lead in enumerate(Lead.objects.all()):
        lead.campaign = FORMULAS[i % 3]
        lead.lead_source = FORMULAS[(i + 1) % 3]
        lead.name = FORMULAS[(i + 2) % 3]
        lead.company = "-2+3"
        lead.save()
    Lead.objects.filter(stage="rejected").update(rejection_reason=FORMULAS[0])
    StageEvent.objects.filter(to_stage="rejected").update(note=FORMULAS[1])
    return nov


def test_no_exported_cell_is_a_live_formula(client, planted):
    org = planted.org
    client.force_login(org.sales_manager)
    with time_machine.travel(NOW, tick=False):
        exports = [("compliance", t, NOV) for t in COMPLIANCE_TABLES]
        exports += [("funnel", t, NOV) for t in FUNNEL_TABLES]
        exports += [("scorecard", "scorecard", "")]
        for page, table, query in exports:
            url = reverse("reports:export", args=[page, table]) + "?" + query
            assert _live_cells(client.get(url)) == [], (page, table)
        review = client.get(reverse("reports:review"))
        for table in review.context["tables"]:
            url = reverse("reports:export", args=["review", table])
            assert _live_cells(client.get(url)) == [], ("review", table)
        assert _live_cells(client.get(reverse("lead-export"))) == []
    record = Import.objects.create(
        user=org.sales_manager,
        preset="custom",
        mapping={"external_id": "Id"},
        content="Id\n1\n",
        created_at=NOW,
    )
    ImportRow.objects.create(
        import_run=record, number=2, result="error", external_id=FORMULAS[0], errors={}
    )
    assert _live_cells(client.get(reverse("import-report", args=[record.pk]))) == []
