"""`manage.py generate_load`: a year of report data, set-based (reports/loadgen.py)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from leads.models import Lead, Obligation, StageEvent
from reports.models import RollupState


def test_generate_load_makes_a_year_of_leads_with_their_history(require_postgres):
    out = StringIO()
    call_command("generate_load", leads=300, label="Gen test", stdout=out)
    leads = Lead.objects.filter(source_system="gen-test")
    assert leads.count() == 300
    # Lead g (1…300) is handed off g/300 of the year after its start, the last one now; it
    # is sal for g mod 10 in 0–2, sql in 3–4, won at 5, rejected at 6, else mql, reaching
    # SAL 3 hours, SQL 5 days and won 20 days after the hand-off, if that is not after now:
    # lead 300 has not reached SAL yet, leads 285 and 295 not won (g ≤ 300 × 345/365).
    events = StageEvent.objects.filter(lead__in=leads)
    assert dict(events.values_list("to_stage").annotate(n=Count("id"))) == {
        "mql": 300,
        "sal": 179,
        "sql": 90,
        "won": 28,
        "rejected": 30,
    }
    assert set(
        leads.filter(external_id__in=["rb285", "rb295"]).values_list("stage", flat=True)
    ) == {"sql"}
    assert leads.get(external_id="rb300").stage == "mql"
    clocks = Obligation.objects.filter(lead__in=leads)
    assert clocks.filter(kind="first_touch").count() == 300
    assert clocks.filter(kind="disposition").count() == 300
    # The MQLs' dispositions are missed two days after the hand-off; lead 299's is not due.
    assert clocks.filter(kind="disposition", status="breached").count() == 89
    now = leads.get(external_id="rb300").handed_off_at  # the last hand-off is at now
    assert not clocks.filter(Q(met_at__gt=now) | Q(closed_at__gt=now)).exists()
    assert not events.filter(occurred_at__gt=now).exists()
    sales = leads.first().sales_team_id
    # Thirteen months of volume and quality periods, the running one open.
    periods = Obligation.objects.filter(lead__isnull=True, team__name="Gen test marketing")
    assert periods.count() == 26
    assert periods.filter(status="open").count() == 2
    assert RollupState.objects.filter(team_id=sales).exists()
    assert "Loaded 300 leads" in out.getvalue()
    assert "gen-test-manager" in out.getvalue()


def test_generate_load_refuses_a_label_already_used(require_postgres):
    call_command("generate_load", leads=1, label="Twice", no_rollups=True, stdout=StringIO())
    with pytest.raises(Exception, match="already exists|duplicate key"):
        call_command("generate_load", leads=1, label="Twice", no_rollups=True, stdout=StringIO())
